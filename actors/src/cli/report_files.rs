//! `amoc serve --report FILE`: each finished run's report written to FILE (`.json` or
//! `.html`, repeatable for both), one run after the other. `{run}` in the name is replaced
//! by the run's number (1, 2, ...) so that every run keeps its own file; without it each run
//! replaces the last one's. A file is written whole under a temporary name, then renamed: a
//! reader never sees half a report.

use std::path::{Path, PathBuf};

use crate::report::{self as run_report, ReportError, ReportFormat, RunReport};

/// Where `serve --report` writes each run's report.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReportFiles {
    paths: Vec<PathBuf>,
    runs: u64,
}

impl ReportFiles {
    pub(crate) fn new(paths: Vec<PathBuf>) -> Self {
        Self { paths, runs: 0 }
    }

    /// Writes the next run's report to every file; says where on stdout, or why not on
    /// stderr (one line each). The files written.
    pub(crate) fn write(&mut self, report: &RunReport) -> Vec<PathBuf> {
        if self.paths.is_empty() {
            return Vec::new();
        }
        self.runs += 1;
        let mut written = Vec::new();
        for template in &self.paths {
            let path = numbered(template, self.runs);
            match write_whole(&path, report) {
                Ok(()) => {
                    println!("report of run {} written to {}", self.runs, path.display());
                    written.push(path);
                }
                Err(e) => {
                    let cause =
                        std::error::Error::source(&e).map_or(String::new(), |c| format!(": {c}"));
                    eprintln!("error: {e}{cause}");
                }
            }
        }
        written
    }
}

/// `template` with `{run}` replaced by `run`.
fn numbered(template: &Path, run: u64) -> PathBuf {
    let text = template.to_string_lossy();
    if text.contains("{run}") {
        PathBuf::from(text.replace("{run}", &run.to_string()))
    } else {
        template.to_owned()
    }
}

/// Writes `report` under a temporary name next to `path`, then renames it to `path`.
fn write_whole(path: &Path, report: &RunReport) -> Result<(), ReportError> {
    let text = match ReportFormat::of(path) {
        Some(ReportFormat::Json) => run_report::to_json(report),
        Some(ReportFormat::Html) => run_report::to_html(report),
        None => return Err(ReportError::Format(path.to_owned())),
    };
    let name = path
        .file_name()
        .map_or_else(|| "report".into(), |n| n.to_string_lossy().into_owned());
    let part = path.with_file_name(format!(".{name}.part"));
    let failed = |source| ReportError::Write {
        path: path.to_owned(),
        source,
    };
    std::fs::write(&part, text).map_err(failed)?;
    std::fs::rename(&part, path).map_err(|e| {
        let _ = std::fs::remove_file(&part);
        failed(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests_support::sample_report;

    #[test]
    fn run_numbers_fill_the_template_and_each_run_is_written_whole() {
        assert_eq!(
            numbered(Path::new("out/r-{run}.json"), 3),
            PathBuf::from("out/r-3.json")
        );
        assert_eq!(numbered(Path::new("r.json"), 3), PathBuf::from("r.json"));
        let dir = std::env::temp_dir().join(format!("amoc-report-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut files = ReportFiles::new(vec![dir.join("r-{run}.json"), dir.join("last.html")]);
        let report = sample_report("demo");
        assert_eq!(files.write(&report).len(), 2);
        assert_eq!(files.write(&report).len(), 2);
        let second: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("r-2.json")).unwrap()).unwrap();
        assert_eq!(second["scenario"], "demo");
        assert!(dir.join("r-1.json").exists());
        assert!(std::fs::read_to_string(dir.join("last.html"))
            .unwrap()
            .contains("<html"));
        assert!(!dir.join(".last.html.part").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
