//! The plugin in real Wireshark (the GUI, Debian's `wireshark`) under a private Xvfb: a
//! private `HOME` holding the installed plugin and a preferences file with wirenote
//! columns; Wireshark opens the annotated pcapng, a capture without any metadata, and a
//! capture beside metadata made for another capture, and in none of them does a second
//! window (the modal "wirenote: no metadata found" dialog the plugin used to raise)
//! appear. A screenshot of each is left in `$CARGO_TARGET_TMPDIR/wireshark-gui/` to look
//! at.
//!
//! Every wait is bounded and every process this test starts is killed at the end, on
//! failure too. Without wireshark, Xvfb, xdotool, xwininfo or ImageMagick's `import` the
//! test says so and is skipped; with `CI=true` it fails.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{require, workspace};

/// A child process killed (and reaped) when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A private X server on a display number it picks itself (`-displayfd`), so it never
/// takes a display someone else uses.
struct Display {
    name: String,
    _server: Killed,
}

fn start_xvfb() -> Display {
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb starts");
    let stdout = child.stdout.take().unwrap();
    let server = Killed(child);
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = send.send(line);
    });
    let line = receive
        .recv_timeout(Duration::from_secs(20))
        .expect("Xvfb names its display within 20 s");
    let number = line.trim();
    assert!(
        !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()),
        "Xvfb display: {line:?}"
    );
    Display {
        name: format!(":{number}"),
        _server: server,
    }
}

/// Runs an X client on `display` (bounded by `timeout`), returning its standard output.
fn x_tool(display: &Display, program: &str, args: &[&str], timeout: Duration) -> String {
    let mut child = Command::new("timeout")
        .arg(format!("{}", timeout.as_secs().max(1)))
        .arg(program)
        .args(args)
        .env("DISPLAY", &display.name)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let mut out = String::new();
    use std::io::Read;
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let _ = child.wait();
    out
}

/// The top-level windows on `display` that are mapped (viewable) and belong to
/// Wireshark, as (id, name, geometry) — the main window, and any dialog.
fn wireshark_windows(display: &Display) -> Vec<(String, String, String)> {
    let tree = x_tool(
        display,
        "xwininfo",
        &["-root", "-children"],
        Duration::from_secs(10),
    );
    let mut windows = Vec::new();
    for line in tree.lines() {
        let line = line.trim();
        // 0x400006 "lab.pcapng": ("wireshark" "Wireshark")  750x550+20+20  +20+20
        if !line.starts_with("0x") || !line.contains("(\"wireshark\"") {
            continue;
        }
        let id = line.split_whitespace().next().unwrap().to_string();
        let name = line.split('"').nth(1).unwrap_or("").to_string();
        let geometry = line
            .split_whitespace()
            .find(|w| w.contains('x') && w.contains('+') && !w.starts_with("0x"))
            .unwrap_or("")
            .to_string();
        let stats = x_tool(display, "xwininfo", &["-id", &id], Duration::from_secs(10));
        if stats.contains("Map State: IsViewable") {
            windows.push((id, name, geometry));
        }
    }
    windows
}

/// A private home: the plugin installed where Wireshark 4.0 on Linux finds personal
/// plugins, and preferences adding three wirenote columns.
fn private_home(root: &Path) -> PathBuf {
    let home = root.join("home");
    let plugins = home.join(".local/lib/wireshark/plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(
        workspace().join("plugins/wirenote.lua"),
        plugins.join("wirenote.lua"),
    )
    .unwrap();
    let config = home.join(".config/wireshark");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("preferences"),
        "gui.column.format: \"No.\", \"%m\", \"Time\", \"%t\", \"Protocol\", \"%p\", \
         \"wirenote role\", \"%Cus:wirenote.role:0:R\", \
         \"client state\", \"%Cus:wirenote.client_state:0:R\", \
         \"server state\", \"%Cus:wirenote.server_state:0:R\", \"Info\", \"%i\"\n",
    )
    .unwrap();
    home
}

fn wirenote(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_wirenote"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "wirenote {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Opens `capture` in Wireshark on `display` with `home`, waits (bounded) for its main
/// window, watches for a second window for a few seconds, screenshots the screen to
/// `shot`, and returns the Wireshark windows seen last.
fn open_in_wireshark(
    display: &Display,
    home: &Path,
    capture: &Path,
    shot: &Path,
) -> Vec<(String, String, String)> {
    let _wireshark = Killed(
        Command::new("wireshark")
            .arg("-r")
            .arg(capture)
            .env("DISPLAY", &display.name)
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env_remove("WIRESHARK_CONFIG_DIR")
            .env_remove("WIRENOTE_METADATA")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("wireshark starts"),
    );
    let title = capture.file_name().unwrap().to_string_lossy().into_owned();
    let main = x_tool(
        display,
        "xdotool",
        &["search", "--sync", "--onlyvisible", "--name", &title],
        Duration::from_secs(60),
    );
    let main = main.lines().next().unwrap_or("").to_string();
    assert!(
        !main.is_empty(),
        "{title}: Wireshark's main window within 60 s"
    );
    x_tool(
        display,
        "xdotool",
        &[
            "windowmove",
            &main,
            "0",
            "0",
            "windowsize",
            &main,
            "1280",
            "800",
        ],
        Duration::from_secs(10),
    );
    // The dialog came while the capture was read: watch for 4 s after the main window.
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut windows = wireshark_windows(display);
    while Instant::now() < deadline && windows.len() <= 1 {
        std::thread::sleep(Duration::from_millis(400));
        windows = wireshark_windows(display);
    }
    x_tool(
        display,
        "import",
        &["-window", "root", shot.to_str().unwrap()],
        Duration::from_secs(30),
    );
    windows
}

#[test]
fn wireshark_opens_every_route_without_a_dialog() {
    for tool in [
        "wireshark",
        "Xvfb",
        "xdotool",
        "xwininfo",
        "import",
        "timeout",
    ] {
        if !require(tool) {
            return;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let home = private_home(dir.path());
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wireshark-gui");
    std::fs::create_dir_all(&shots).unwrap();

    let lab = workspace().join("fixtures/lab-5000.pcap");
    let annotated = dir.path().join("lab.annotated.pcapng");
    wirenote(&[
        "annotate",
        lab.to_str().unwrap(),
        "-o",
        dir.path().join("lab.csv").to_str().unwrap(),
        "--pcapng-out",
        annotated.to_str().unwrap(),
    ]);
    let plain = dir.path().join("plain.pcap");
    std::fs::copy(&lab, &plain).unwrap();
    // The lab's metadata beside another capture, under the name the plugin looks for.
    let other = dir.path().join("other.pcap");
    std::fs::copy(workspace().join("fixtures/lab-chromium.pcap"), &other).unwrap();
    wirenote(&[
        "annotate",
        lab.to_str().unwrap(),
        "--format",
        "lua",
        "-o",
        dir.path().join("other.pcap.wirenote.lua").to_str().unwrap(),
    ]);

    let display = start_xvfb();
    for (route, capture) in [
        ("annotated", &annotated),
        ("no-metadata", &plain),
        ("mismatched", &other),
    ] {
        let shot = shots.join(format!("{route}.png"));
        let windows = open_in_wireshark(&display, &home, capture, &shot);
        eprintln!("wireshark-gui: {route}: screenshot {}", shot.display());
        let title = capture.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            windows.len(),
            1,
            "{route}: only Wireshark's main window, no dialog: {windows:?}"
        );
        assert_eq!(windows[0].1, title, "{route}: the main window: {windows:?}");
        assert!(
            std::fs::metadata(&shot).is_ok_and(|m| m.len() > 10_000),
            "{route}: a screenshot"
        );
    }
}
