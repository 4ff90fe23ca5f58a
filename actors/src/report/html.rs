//! The HTML report: one self-contained page. The report's JSON is embedded in a
//! `<script type="application/json">`; an inline script draws the charts (hand-written SVG)
//! and fills the tables. When it is done it adds `<div id="rendered">`; any error it meets
//! is shown in `<pre id="errors">`. No network access, no external file.

use super::model::RunReport;

const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// The page of `report`.
pub(super) fn render(report: &RunReport) -> String {
    // Inside <script>, only `</` can end the element early: escape it (valid JSON still).
    let data = super::to_json(report).replace("</", "<\\/");
    let title = escape(&format!("amoc report: {}", report.scenario));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n\
         <title>{title}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <h1>{title}</h1>\n<pre id=\"errors\" hidden></pre>\n<main id=\"report\"></main>\n\
         <script type=\"application/json\" id=\"data\">{data}</script>\n\
         <script>\n{SCRIPT}</script>\n</body>\n</html>\n"
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cannot_close_the_script_and_nothing_is_fetched() {
        let page = render(&super::super::tests_support::sample_report("</script><b>"));
        assert_eq!(
            page.matches("</script>").count(),
            2,
            "only the two real ends"
        );
        assert!(page.contains("amoc report: &lt;/script&gt;&lt;b&gt;"));
        for remote in ["src=\"http", "href=\"http", "@import", "url(http"] {
            assert!(!page.contains(remote), "{remote}");
        }
    }
}
