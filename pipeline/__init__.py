"""Stage logic, the workspace store and the LLM layer. Nothing here imports Prefect."""
