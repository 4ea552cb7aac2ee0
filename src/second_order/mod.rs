//! Second-order methods on exact derivatives: Newton, diagonal quasi-Newton and
//! natural gradient.

pub mod cg;
pub mod diagonal;
pub mod lbfgs;
pub mod natural;
pub mod newton;
