use proptest::prelude::*;

use super::*;
use crate::report::tests_support::sample_report;

fn t(expr: &str) -> Threshold {
    Threshold::parse(expr).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_documented_forms_parse() {
    let p99 = t("p99<200ms");
    assert_eq!(p99.name, None);
    assert_eq!(
        p99.metric,
        Metric::Latency {
            stat: Stat::P99,
            corrected: true
        }
    );
    assert_eq!((p99.op, p99.value), (Op::Lt, 200.0));
    assert_eq!(t("errors<1%").metric, Metric::Errors);
    assert_eq!((t("rate>=99%").op, t("rate>=99%").value), (Op::Ge, 99.0));
    let login = t("login.p95<100ms");
    assert_eq!(login.name.as_deref(), Some("login"));
    let dotted = t("GET /a.b.p99.9 <= 1.5s");
    assert_eq!(dotted.name.as_deref(), Some("GET /a.b"));
    assert_eq!((dotted.op, dotted.value), (Op::Le, 1500.0));
    assert_eq!(t("service_max>250us").value, 0.25);
    assert_eq!(t("count>=100").metric, Metric::Count);
}

#[test]
fn bad_expressions_say_why() {
    let reason = |e: &str| Threshold::parse(e).unwrap_err().to_string();
    assert!(reason("p99").contains("no comparison"));
    assert!(reason("p98<1ms").contains("unknown metric"));
    assert!(reason("p99<200").contains("unit"));
    assert!(reason("errors<1").contains("percentage"));
    assert!(reason("login.rate>1%").contains("whole run"));
    assert!(reason("p99<abc ms").contains("not a number"));
    assert!(reason("count<5ms").contains("plain number"));
}

#[test]
fn checks_read_the_report() {
    let r = sample_report("demo");
    // GET / holds 1..=99 ms and 500 ms; p50 ≈ 50 ms.
    assert!(t("GET /.p50<60ms").check(&r).passed);
    assert!(!t("GET /.p50<40ms").check(&r).passed);
    assert!(t("login.max<6ms").check(&r).passed);
    let errors = t("errors<0.5%").check(&r);
    assert!(!errors.passed, "1 of 102 is 0.98%: {}", errors.text);
    let expected = "broken errors<0.5% (measured 0.98";
    assert!(errors.text.starts_with(expected), "{}", errors.text);
    assert!(t("errors<1%").check(&r).passed);
    assert!(t("GET /.errors>=1%").check(&r).passed, "1 of GET /'s 100");
    let missing = t("nosuch.p99<1s").check(&r);
    assert!(!missing.passed && missing.text.contains("no such request"));
    let rate = t("rate>=99%").check(&r);
    assert!(!rate.passed && rate.text.contains("no rate was asked"));
    assert!(t("count>=102").check(&r).passed && !t("count>102").check(&r).passed);
}

fn stat() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "min", "p50", "p90", "p95", "p99", "p99.9", "max", "mean", "stddev",
    ])
}

proptest! {
    #[test]
    fn display_parses_back(
        name in prop::option::of("[a-zA-Z/_-]([a-zA-Z /_.-]{0,10}[a-zA-Z/_-])?"),
        service in any::<bool>(),
        s in stat(),
        op in prop::sample::select(vec!["<", "<=", ">", ">="]),
        thousandths in 0u64..10_000_000,
    ) {
        let prefix = name.as_ref().map(|n| format!("{n}.")).unwrap_or_default();
        let metric = if service { format!("service_{s}") } else { s.to_owned() };
        let value = thousandths as f64 / 1000.0;
        let expr = format!("{prefix}{metric}{op}{value}ms");
        let parsed = Threshold::parse(&expr).unwrap();
        prop_assert_eq!(parsed.value, value);
        let again = Threshold::parse(&parsed.to_string()).unwrap();
        prop_assert_eq!(again, parsed);
    }

    #[test]
    fn a_bound_and_its_opposite_never_agree(actual in 0.0f64..1e6, bound in 0.0f64..1e6) {
        prop_assert_ne!(Op::Lt.holds(actual, bound), Op::Ge.holds(actual, bound));
        prop_assert_ne!(Op::Gt.holds(actual, bound), Op::Le.holds(actual, bound));
    }

    #[test]
    fn garbage_is_an_error_never_a_panic(expr in "\\PC{0,30}") {
        let _ = Threshold::parse(&expr);
    }
}
