//! Links the system's BLAS and LAPACK, which Clarabel's semidefinite cone calls.
//!
//! Clarabel's `sdp` feature declares the Fortran routines (`dsyevr_`, `dgemm_`, ...)
//! without providing them. Its bundled alternatives build OpenBLAS or Netlib from
//! source, which needs a download or a Fortran compiler; the reference libraries
//! from the distribution (Debian: `libblas-dev`, `liblapack-dev`) need neither.
//! They go at the end of the link line (`rustc-link-arg`), after Clarabel's archive
//! that needs them; a `rustc-link-lib` would come before it, and an `--as-needed`
//! linker would drop them there.
//!
//! Only the `pep` feature uses Clarabel, so only with it (cargo sets
//! `CARGO_FEATURE_PEP`) are the libraries linked: a lean build of the library
//! needs neither.
fn main() {
    if std::env::var_os("CARGO_FEATURE_PEP").is_some() {
        println!("cargo:rustc-link-arg=-llapack");
        println!("cargo:rustc-link-arg=-lblas");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
