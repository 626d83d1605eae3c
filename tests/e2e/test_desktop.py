"""The real desktop app (the Tauri binary, WebKitGTK) under Xvfb, driven through WebDriver:
`tauri-driver` in front of Debian's `WebKitWebDriver`. The app embeds the manager with the real
echo and bootstrapper agents, in a temp folder of its own; a task submitted through the app's own
IPC round-trips to its page, a request to replace files is answered in the window, and a
bootstrap's page reads as in the browser: its title, state, steps, log, checks and Open."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import (
    DEADLINE,
    DIE_WITH_PARENT,
    REPO,
    desktop_env,
    free_port,
    listening,
    pid_alive,
    session_bus,
    standin_systemctl,
    tauri_driver,
    wait_until,
)
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from tray_host import TrayHost

APP = Path(os.environ.get("HYPERAGENT_APP_BIN", REPO / "target" / "debug" / "hyperagent-app"))
# The app runs the bundled agents (every manifest in agents/) when its config names none.
BUNDLED = len(list((REPO / "agents").glob("*/agent.toml")))
ALL_ONLINE = f"{BUNDLED} of {BUNDLED} agents online"


# What the X display shows, as a PNG: the screen holds only the app's window. WebDriver's own
# screenshot is not used: WebKitGTK never answers it when it draws without compositing, as the
# app does by default (`web.app_gpu_compositing`).
GRAB = """
import sys, gi
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk
root = Gdk.get_default_root_window()
shown = Gdk.pixbuf_get_from_window(root, 0, 0, root.get_width(), root.get_height())
shown.savev(sys.argv[1], "png", [], [])
"""


def shot(app: webdriver.Remote, path: Path) -> None:
    """Saves what the app's display shows (Debian's python3-gi, outside the project's venv)."""
    env = app.app_env  # type: ignore[attr-defined]
    subprocess.run(
        ["/usr/bin/python3", "-c", GRAB, str(path)], env=env, check=True, timeout=DEADLINE
    )


@pytest.fixture
def display() -> Iterator[str]:
    """A virtual X display of 1280x800, like a small laptop screen."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        [
            *DIE_WITH_PARENT,
            "Xvfb",
            "-displayfd",
            str(write),
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    assert number, "Xvfb printed no display number"
    yield f":{number}"
    xvfb.terminate()
    xvfb.wait(timeout=DEADLINE)


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[str]:
    """A session bus of the test's own: the app's single-instance lock and tray live on D-Bus."""
    with session_bus(tmp_path) as address:
        yield address


@pytest.fixture
def tray(bus: str) -> Iterator[TrayHost]:
    """The panel's side of the tray (a stand-in at the D-Bus boundary, see tray_host), on the bus
    before the app starts, as a desktop session's panel is."""
    host = TrayHost(bus)
    yield host
    host.close()


@pytest.fixture
def app(display: str, bus: str, tmp_path: Path) -> Iterator[webdriver.Remote]:
    # No systemd user manager can run here: the stand-in `systemctl` (process boundary) runs the
    # unit's ExecStart as systemd would.
    env = desktop_env(
        tmp_path,
        display,
        bus,
        f"[service]\nsystemctl = {json.dumps(standin_systemctl(tmp_path))}\n"
        f'unit_dir = "{tmp_path / "units"}"\n',
    )
    port, native = free_port(), free_port()
    log = open(tmp_path / "tauri-driver.log", "w")  # noqa: SIM115 - closed below
    driver_proc = subprocess.Popen(
        tauri_driver(port, native),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the driver, WebKitWebDriver and the app
    )
    options = ArgOptions()
    options.set_capability("browserName", "wry")
    options.set_capability("tauri:options", {"application": str(APP)})
    driver = None
    try:
        # tauri-driver, and the WebKitWebDriver it starts behind it, listen within a moment.
        wait_until(
            lambda: (listening(port) and listening(native)) or driver_proc.poll() is not None,
            "tauri-driver and WebKitWebDriver to listen",
        )
        assert driver_proc.poll() is None, (tmp_path / "tauri-driver.log").read_text()
        driver = webdriver.Remote(command_executor=f"http://127.0.0.1:{port}", options=options)
        driver.app_env = env  # type: ignore[attr-defined] - for tests that start a second app
        yield driver
    finally:
        if driver is not None:
            with contextlib.suppress(WebDriverException):  # the app may have quit from its tray
                driver.quit()

        # A service the test started is not the app's to stop.
        subprocess.run(
            [*standin_systemctl(tmp_path), "--user", "stop", "hyperagent.service"], check=False
        )
        os.killpg(driver_proc.pid, signal.SIGTERM)
        driver_proc.wait(timeout=DEADLINE)
        log.close()


def test_the_window_shows_the_embedded_managers_agents_and_a_task_round_trips(
    app: webdriver.Remote, tmp_path: Path
) -> None:
    wait = WebDriverWait(app, DEADLINE)
    status = (By.CSS_SELECTOR, '[data-testid="status-agents"]')
    wait.until(ec.text_to_be_present_in_element(status, ALL_ONLINE))
    # First run: the introduction comes first.
    skip = (By.CSS_SELECTOR, '[data-testid="onboarding-skip"]')
    wait.until(ec.element_to_be_clickable(skip)).click()
    wait.until(ec.invisibility_of_element_located((By.CSS_SELECTOR, '[data-testid="onboarding"]')))
    shot(app, tmp_path / "desktop-new-project.png")

    app.find_element(By.LINK_TEXT, "Agents").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, '[data-agent-id="echo"]')))

    # A task through the app's own IPC (the Tauri transport the UI uses), then its page.
    task_id = ipc(
        app,
        "SubmitTask",
        {"task_type": "echo.echo", "payload_json": '{"message": "from the desktop"}'},
    )["task"]["id"]
    app.execute_script(f"window.location.hash = '#/tasks/{task_id}'")
    state = (By.CSS_SELECTOR, '[data-testid="task-page"] [data-testid="task-state"]')
    wait.until(
        ec.text_to_be_present_in_element_attribute(state, "data-state", "TASK_STATE_COMPLETED")
    )
    line = (By.CSS_SELECTOR, '[data-testid="log-line"]')
    wait.until(ec.text_to_be_present_in_element(line, "from the desktop"))
    shot(app, tmp_path / "desktop-task.png")

    # The consent flow in the window: a project made over a folder that holds a file of the
    # person's asks first (destructive: red header, the file named, the focus on Deny), and
    # runs once allowed.
    taken = tmp_path / "data" / "workspaces" / "taken"
    taken.mkdir(parents=True)
    (taken / "README.md").write_text("# mine\n")
    payload = {"template": "fastapi", "answers": {"project_name": "taken"}}
    task_id = ipc(
        app,
        "SubmitTask",
        {
            "task_type": "bootstrap.project",
            "payload_json": json.dumps({**payload, "overwrite": True, "checks": False}),
            "workspace": "taken",
        },
    )["task"]["id"]
    modal = (By.CSS_SELECTOR, '[data-testid="consent-modal"]')
    wait.until(ec.visibility_of_element_located(modal))
    files = app.find_element(By.CSS_SELECTOR, '[data-testid="consent-modal"]').text
    assert "README.md" in files, files
    focused = app.switch_to.active_element.get_attribute("data-testid")
    assert focused == "consent-deny", focused
    shot(app, tmp_path / "desktop-consent.png")
    assert (taken / "README.md").read_text() == "# mine\n"
    app.find_element(By.CSS_SELECTOR, '[data-testid="consent-once"]').click()
    wait.until(ec.invisibility_of_element_located(modal))
    app.execute_script(f"window.location.hash = '#/tasks/{task_id}'")
    wait.until(
        ec.text_to_be_present_in_element_attribute(state, "data-state", "TASK_STATE_COMPLETED")
    )
    assert (taken / "README.md").read_text().startswith("# taken")


def test_a_bootstraps_task_page_in_the_window_title_state_steps_log_checks_and_open(
    app: webdriver.Remote, tmp_path: Path
) -> None:
    """A project made in the window, its install refused network access as a person would refuse
    it (the bundled bootstrapper has no wheelhouse, so it asks to connect to PyPI): the task page
    reads what it made, says the state while it waits and once it ended, shows the steps as a
    timeline and the log as it arrives, lists every check with why it did not run, and offers to
    open the project."""
    wait = WebDriverWait(app, DEADLINE)
    skip = (By.CSS_SELECTOR, '[data-testid="onboarding-skip"]')
    wait.until(ec.element_to_be_clickable(skip)).click()
    wait.until(ec.invisibility_of_element_located((By.CSS_SELECTOR, '[data-testid="onboarding"]')))
    wait_until(
        lambda: any(
            a["id"] == "bootstrapper" and a["status"] == "AGENT_STATUS_ONLINE"
            for a in ipc(app, "ListAgents").get("agents", [])
        ),
        "the bootstrapper to be online",
    )
    payload = {"template": "fastapi", "answers": {"project_name": "desk"}}
    task_id = ipc(
        app,
        "SubmitTask",
        {
            "task_type": "bootstrap.project",
            "payload_json": json.dumps(payload),
            "workspace": "desk",
        },
    )["task"]["id"]
    app.execute_script(f"window.location.hash = '#/tasks/{task_id}'")
    page = '[data-testid="task-page"]'
    state = (By.CSS_SELECTOR, f'{page} [data-testid="task-state"]')
    title = (By.CSS_SELECTOR, f'{page} [data-testid="task-title"]')
    wait.until(ec.text_to_be_present_in_element(title, "desk · FastAPI service"))
    assert app.find_element(*title).text == "desk · FastAPI service"

    # The install asks to download packages: the page says it waits, the log has what came before.
    modal = (By.CSS_SELECTOR, '[data-testid="consent-modal"]')
    wait.until(ec.visibility_of_element_located(modal))
    assert "pypi.org" in app.find_element(*modal).text
    assert app.find_element(*state).get_attribute("data-state") == "TASK_STATE_AWAITING_CONSENT"
    assert app.find_element(*state).text == "awaiting consent"
    line = (By.CSS_SELECTOR, f'{page} [data-testid="log-line"]')
    wait.until(ec.text_to_be_present_in_element(line, "validating"))
    shot(app, tmp_path / "desktop-task-waiting.png")
    app.find_element(By.CSS_SELECTOR, '[data-testid="consent-deny"]').click()
    wait.until(ec.invisibility_of_element_located(modal))

    wait.until(
        ec.text_to_be_present_in_element_attribute(state, "data-state", "TASK_STATE_COMPLETED")
    )
    assert app.find_element(*state).text == "completed, checks skipped"
    # The steps as a timeline, each with its status.
    steps = {
        s.get_attribute("data-step"): s.get_attribute("data-status")
        for s in app.find_elements(By.CSS_SELECTOR, f'{page} [data-testid="step"]')
    }
    assert list(steps)[:6] == ["validate", "render", "place", "commit", "environment", "install"]
    assert steps["commit"] == "done", steps
    assert steps["environment"] == "passed", steps
    assert steps["install"] == "skipped", steps
    # Every check in the table, those that did not run with why.
    checks = {
        row.find_elements(By.TAG_NAME, "td")[0].text: row.text
        for row in app.find_elements(By.CSS_SELECTOR, f'{page} [data-testid="check-row"]')
    }
    assert list(checks) == ["environment", "install", "tests", "serve"], checks
    assert "network access to pypi.org:443 was refused" in checks["install"]
    assert "not run: install was skipped" in checks["tests"]
    assert "not run: install was skipped" in checks["serve"]
    logged = [e.text for e in app.find_elements(*line)]
    assert any("rendered" in t for t in logged), logged
    # The project can be opened from the page (with VS Code, or as a folder when it is absent).
    opens = app.find_elements(
        By.XPATH,
        '//*[@role="group" and @aria-label="Task actions"]'
        '//button[starts-with(normalize-space(.), "Open")]',
    )
    assert len(opens) == 1, [b.text for b in opens]
    assert opens[0].is_displayed()
    assert (tmp_path / "data" / "workspaces" / "desk" / "main.py").exists() or any(
        (tmp_path / "data" / "workspaces" / "desk").glob("*/main.py")
    )
    shot(app, tmp_path / "desktop-task-ended.png")
    if os.environ.get("HYPERAGENT_DOCS") == "1":  # the docs' picture of the app, made on asking
        shutil.copyfile(
            tmp_path / "desktop-task-ended.png", REPO / "docs" / "screenshots" / "desktop-app.png"
        )


def test_the_app_installs_the_service_and_hands_over_to_it_and_back(
    app: webdriver.Remote, tmp_path: Path
) -> None:
    wait = WebDriverWait(app, DEADLINE)
    skip = (By.CSS_SELECTOR, '[data-testid="onboarding-skip"]')
    wait.until(ec.element_to_be_clickable(skip)).click()
    app.find_element(By.LINK_TEXT, "Settings").click()
    state = (By.CSS_SELECTOR, '[data-testid="service-state"]')
    mode = (By.CSS_SELECTOR, '[data-testid="app-mode"]')
    wait.until(ec.text_to_be_present_in_element_attribute(state, "data-state", "not_installed"))
    assert app.find_element(*mode).get_attribute("data-mode") == "embedded"
    own_pid = ipc(app, "GetStatus")["pid"]

    app.find_element(By.CSS_SELECTOR, '[data-testid="service-install"]').click()
    wait.until(ec.text_to_be_present_in_element_attribute(state, "data-state", "stopped"))
    unit = (tmp_path / "units" / "hyperagent.service").read_text()
    assert "hyperagent" in unit
    assert '"serve" "--web"' in unit

    # Start: the app's own manager stops and the service's takes over the same socket.
    app.find_element(By.CSS_SELECTOR, '[data-testid="service-start"]').click()
    wait.until(ec.text_to_be_present_in_element_attribute(state, "data-state", "running"))
    assert app.find_element(*mode).get_attribute("data-mode") == "connected"
    service_pid = ipc(app, "GetStatus")["pid"]
    assert isinstance(service_pid, int)
    assert service_pid != own_pid
    # The UI's feed follows the new manager: the agents it started come online in the status line.
    status = (By.CSS_SELECTOR, '[data-testid="status-agents"]')
    wait.until(ec.text_to_be_present_in_element(status, ALL_ONLINE))
    shot(app, tmp_path / "desktop-service.png")

    # Stop: the app runs its own manager again.
    app.find_element(By.CSS_SELECTOR, '[data-testid="service-stop"]').click()
    wait.until(ec.text_to_be_present_in_element_attribute(mode, "data-mode", "embedded"))
    assert app.find_element(*state).get_attribute("data-state") == "stopped"
    wait.until(ec.text_to_be_present_in_element(status, ALL_ONLINE))


def ipc(app: webdriver.Remote, method: str, request: dict | None = None) -> dict:
    """One call of the client API through the app's own IPC (the Tauri transport the UI uses)."""
    result = app.execute_async_script(
        """
        const [method, request, done] = arguments;
        window.__TAURI_INTERNALS__.invoke('call', { method, request })
          .then((r) => done(r), (e) => done({ error: e }));
        """,
        method,
        request or {},
    )
    assert "error" not in result, result
    return result


def test_the_tray_shows_the_status_pauses_and_resumes_and_quit_stops_everything(
    tray: TrayHost, app: webdriver.Remote, tmp_path: Path
) -> None:
    wait_until(lambda: len(tray.items) == 1, "the app's tray icon to register with the panel")
    item = tray.items[0]

    def status_label() -> str:
        return next((label for label in tray.menu(item) if label.startswith("HyperAgent:")), "")

    wait_until(
        lambda: f"{BUNDLED} agents online" in status_label(), "the tray to show the agents online"
    )
    entries = tray.menu(item)
    assert entries[status_label()][1] is False  # the status line is not a button
    assert {"Show / hide window", "Pause scheduling", "Quit HyperAgent"} <= set(entries)

    tray.click(item, "Pause scheduling")
    wait_until(lambda: ipc(app, "GetStatus")["paused"] is True, "the manager to pause")
    wait_until(lambda: "Resume scheduling" in tray.menu(item), "the tray to offer Resume")
    wait_until(lambda: "paused" in status_label(), "the tray's status to say paused")
    tray.click(item, "Resume scheduling")
    wait_until(lambda: ipc(app, "GetStatus")["paused"] is False, "the manager to resume")

    # Show / hide: the window goes away (the app lives on in the tray) and comes back.
    def visibility() -> str:
        return str(app.execute_script("return document.visibilityState"))

    assert visibility() == "visible"
    tray.click(item, "Show / hide window")
    wait_until(lambda: visibility() == "hidden", "the window to hide")
    assert ipc(app, "GetStatus")["pid"]  # the app and its manager go on
    tray.click(item, "Show / hide window")
    wait_until(lambda: visibility() == "visible", "the window to show again")

    # Quit: the app exits and its embedded manager stops cleanly, leaving nothing running.
    pid = ipc(app, "GetStatus")["pid"]
    agents = [a["pid"] for a in ipc(app, "ListAgents")["agents"] if a.get("pid")]
    tray.click(item, "Quit HyperAgent")
    wait_until(lambda: not pid_alive(pid), "the app to exit")
    assert not (tmp_path / "run" / "manager.sock").exists(), "the embedded manager left its socket"
    assert agents, "an agent outlived the app"
    assert not any(pid_alive(a) for a in agents), "an agent outlived the app"


def test_a_second_launch_hands_over_to_the_running_app_and_exits(
    app: webdriver.Remote, tmp_path: Path
) -> None:
    """One instance per user: launching the app again (from the menu, say) exits at once and the
    first one goes on, with its embedded manager."""
    wait = WebDriverWait(app, DEADLINE)
    status = (By.CSS_SELECTOR, '[data-testid="status-agents"]')
    wait.until(ec.text_to_be_present_in_element(status, ALL_ONLINE))
    pid = ipc(app, "GetStatus")["pid"]
    second = subprocess.run(
        [str(APP)], env=app.app_env, capture_output=True, text=True, timeout=DEADLINE
    )
    assert second.returncode == 0, second.stderr
    assert ipc(app, "GetStatus")["pid"] == pid
    assert "embedded manager ready" not in second.stderr  # it never started a manager of its own
