"""``python3 -m hyperagent_embeddings``: run the embeddings agent until SIGTERM/SIGINT."""

from .agent import agent

if __name__ == "__main__":
    agent.run()
