//! The files a run writes: never through a symbolic link, never one of its
//! other files, private to their owner, and a refusal (exit 2) leaves every
//! file as it was and sends nothing.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use support::fault_server::{Action, FaultServer};
use support::{DOLFIN_KEY, PINATA_JWT, bulk_line, read_jsonl, revoker, stderr, uuid};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn keys(dir: &Path) -> PathBuf {
    let lines: Vec<String> = (1..=2)
        .map(|n| bulk_line("dolfin", "revoke-api-key", &[("id", &uuid(n))]))
        .collect();
    write(dir, "keys.jsonl", &(lines.join("\n") + "\n"))
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

fn server() -> FaultServer {
    FaultServer::start(|request| {
        if request.method == "POST" && request.path.starts_with("/v3/gateways/") {
            Action::json(
                200,
                r#"{"data":{"id":"new-key","value":"secret-gateway-value","createdAt":"2026-01-01"}}"#,
            )
        } else {
            Action::status(204)
        }
    })
}

/// `revoker [global…] bulk INPUT [args…]` against `server`.
fn bulk(
    server: &FaultServer,
    global: &[&Path],
    input: &Path,
    args: &[&str],
) -> std::process::Output {
    let mut command = revoker();
    command
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .env("REVOKER_PINATA_BASE_URL", server.uri())
        .env("DOLFIN_API_KEY", DOLFIN_KEY)
        .env("PINATA_JWT", PINATA_JWT);
    if let Some(audit) = global.first() {
        command.arg("--audit").arg(audit);
    }
    command.arg("bulk").arg(input).args(args);
    command.output().unwrap()
}

fn refused(output: &std::process::Output, server: &FaultServer, says: &str) {
    assert_eq!(output.status.code(), Some(2), "{}", stderr(output));
    assert!(stderr(output).contains(says), "{}", stderr(output));
    assert!(server.received().is_empty(), "nothing is sent");
}

#[test]
fn a_report_naming_the_input_is_refused_and_the_input_kept() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let input = keys(dir.path());
    let before = std::fs::read(&input).unwrap();
    let output = bulk(&server, &[], &input, &["--report", input.to_str().unwrap()]);
    refused(&output, &server, "the input");
    assert!(
        stderr(&output).contains("are the same file"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read(&input).unwrap(), before);

    // Through a hard link too: the same file by another name.
    let other_name = dir.path().join("report.jsonl");
    std::fs::hard_link(&input, &other_name).unwrap();
    let output = bulk(
        &server,
        &[],
        &input,
        &["--report", other_name.to_str().unwrap()],
    );
    refused(&output, &server, "are the same file");
    assert_eq!(std::fs::read(&input).unwrap(), before);
}

#[test]
fn a_report_naming_the_file_standard_input_reads_is_refused() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let input = keys(dir.path());
    let before = std::fs::read(&input).unwrap();
    let output = std::process::Command::new(support::revoker_bin())
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .env("DOLFIN_API_KEY", DOLFIN_KEY)
        .args(["bulk", "-", "--report"])
        .arg(&input)
        .stdin(std::fs::File::open(&input).unwrap())
        .output()
        .unwrap();
    refused(&output, &server, "are the same file");
    assert_eq!(std::fs::read(&input).unwrap(), before);
}

#[test]
fn a_report_naming_the_journal_is_refused_and_the_journal_kept() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let input = keys(dir.path());
    let journal = dir.path().join("journal");
    let journal_arg = journal.to_str().unwrap();
    let output = bulk(&server, &[], &input, &["--journal", journal_arg]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let sent = server.received().len();
    assert_eq!(sent, 2);
    let before = std::fs::read(&journal).unwrap();

    let output = bulk(
        &server,
        &[],
        &input,
        &["--journal", journal_arg, "--report", journal_arg],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("the journal") && stderr(&output).contains("are the same file"),
        "{}",
        stderr(&output)
    );
    assert_eq!(server.received().len(), sent, "nothing more is sent");
    assert_eq!(std::fs::read(&journal).unwrap(), before);
}

#[test]
fn one_new_file_as_report_and_journal_is_refused_before_it_is_created() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let input = keys(dir.path());
    let both = dir.path().join("out");
    // The same new file, named two ways.
    let other = dir.path().join(".").join("out");
    let output = bulk(
        &server,
        &[],
        &input,
        &[
            "--journal",
            both.to_str().unwrap(),
            "--report",
            other.to_str().unwrap(),
        ],
    );
    refused(&output, &server, "are the same file");
    assert!(!both.exists(), "nothing is created");
}

#[test]
fn a_report_or_journal_that_is_a_symbolic_link_is_refused_and_its_target_kept() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let input = keys(dir.path());
    let target = write(dir.path(), "precious.txt", "not a report\n");
    let link = dir.path().join("report.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    for flag in ["--report", "--journal"] {
        let output = bulk(&server, &[], &input, &[flag, link.to_str().unwrap()]);
        refused(&output, &server, "is a symbolic link");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "not a report\n");
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    }
}

#[test]
fn an_existing_report_open_to_others_is_made_private_before_a_created_key_goes_in() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "create.jsonl",
        &(bulk_line("pinata", "create-gateway-key", &[("gateway-id", "gw1")]) + "\n"),
    );
    let report = write(dir.path(), "report.jsonl", "an old report\n");
    std::fs::set_permissions(&report, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = bulk(
        &server,
        &[],
        &input,
        &["--report", report.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(server.received().len(), 1);
    assert_eq!(mode(&report), 0o600);
    assert!(
        stderr(&output).contains("had mode 0644: made it 0600"),
        "says what it did: {}",
        stderr(&output)
    );
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains("secret-gateway-value"), "{text}");
    assert!(!text.contains("an old report"), "{text}");
    assert_eq!(read_jsonl(&report).len(), 1);
}

#[test]
fn an_audit_log_open_to_others_is_made_private() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let input = keys(dir.path());
    let audit = write(dir.path(), "audit.jsonl", "");
    std::fs::set_permissions(&audit, std::fs::Permissions::from_mode(0o640)).unwrap();
    let output = bulk(&server, &[&audit], &input, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(server.received().len(), 2);
    assert_eq!(mode(&audit), 0o600);
    assert_eq!(read_jsonl(&audit).len(), 2);
}

#[test]
fn an_audit_log_that_is_a_symbolic_link_is_refused_and_its_target_kept() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let input = keys(dir.path());
    let target = write(dir.path(), "precious.txt", "");
    let link = dir.path().join("audit.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let output = bulk(&server, &[&link], &input, &[]);
    refused(&output, &server, "is a symbolic link");
    assert_eq!(std::fs::read(&target).unwrap(), b"");
}

#[test]
fn an_audit_log_that_is_not_a_regular_file_is_refused() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let input = keys(dir.path());
    let output = bulk(&server, &[dir.path()], &input, &["--audit-required"]);
    refused(&output, &server, "is a directory, not a regular file");
}

#[test]
fn a_report_or_journal_naming_the_audit_log_is_refused_and_the_log_kept() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let input = keys(dir.path());
    let audit = dir.path().join("audit.jsonl");
    let output = bulk(&server, &[&audit], &input, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let sent = server.received().len();
    let before = std::fs::read(&audit).unwrap();
    assert!(!before.is_empty());
    for flag in ["--report", "--journal"] {
        let output = bulk(&server, &[&audit], &input, &[flag, audit.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("the audit log")
                && stderr(&output).contains("are the same file"),
            "{}",
            stderr(&output)
        );
        assert_eq!(server.received().len(), sent, "nothing more is sent");
        assert_eq!(std::fs::read(&audit).unwrap(), before);
    }
}

#[test]
fn an_audit_log_given_as_the_input_is_refused() {
    let server = server();
    let dir = tempfile::tempdir().unwrap();
    let audit = write(dir.path(), "audit.jsonl", "");
    std::fs::set_permissions(&audit, std::fs::Permissions::from_mode(0o600)).unwrap();
    let output = bulk(&server, &[&audit], &audit, &[]);
    refused(&output, &server, "are the same file");
}
