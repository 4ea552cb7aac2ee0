//! Performance estimation: the crate's own SDP against closed-form worst cases.
//!
//! Every comparison uses the accuracy the solve reports (`WorstCase::accuracy`:
//! the primal-dual gap plus the recomputed residuals times the solution sizes),
//! which bounds the distance from the returned value to the SDP's optimum.

use descent::pep::{FunctionClass, Measure, Method, WorstCase, worst_case};

fn solve(l: f64, mu: f64, method: Method, n: usize, measure: Measure) -> WorstCase {
    let class = FunctionClass::new(l, mu).expect("valid class");
    worst_case(&class, &method, n, measure).expect("solved to optimality")
}

#[test]
fn gd_worst_case_is_l_over_4n_plus_2() {
    for n in 1..=10 {
        let wc = solve(1.0, 0.0, Method::Gd { h: 1.0 }, n, Measure::FunctionValue);
        let exact = 1.0 / (4.0 * n as f64 + 2.0);
        assert!(
            (wc.value - exact).abs() <= wc.accuracy,
            "N = {n}: {} vs {exact}, accuracy {}",
            wc.value,
            wc.accuracy
        );
    }
}
