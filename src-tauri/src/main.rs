// The desktop app: `main` only starts it.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    hyperagent_app::run()
}
