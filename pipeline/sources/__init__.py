"""Where posts come from: dump files, the Reddit API, the authors' index."""
