"""``python3 -m hyperagent_testrunner``: run the test-runner agent until SIGTERM/SIGINT."""

from .agent import agent

if __name__ == "__main__":
    agent.run()
