"""A loopback HTTP server speaking the Hugging Face Hub's wire format for the endpoints
valact's publish and verify call, so ``HfApi(endpoint=server.url, token=...)`` runs its real
request code against it.

Endpoints (paths and JSON shapes as ``huggingface_hub`` sends and parses them):

- ``POST /api/validate-yaml``                        card metadata check before a commit
- ``POST /api/repos/create``                         ``{"url"}``, 409 when it exists
- ``GET  /api/datasets/{repo}/refs``                 branches / converts / tags with targetCommit
- ``POST /api/datasets/{repo}/preupload/{rev}``      ``{"files": [{path, uploadMode, shouldIgnore, oid}]}``
- ``POST /api/datasets/{repo}/commit/{rev}``         NDJSON header + base64 file lines
- ``POST /api/datasets/{repo}/tag/{rev}``            409 when the tag exists
- ``GET  /api/datasets/{repo}/revision/{rev}``       repo info with siblings (for snapshot_download)
- ``GET  /api/datasets/{repo}/tree/{rev}``           recursive file listing (for snapshot_download)
- ``GET|HEAD /datasets/{repo}/resolve/{rev}/{path}`` file content with X-Repo-Commit and ETag
- ``POST /datasets/{repo}.git/info/lfs/objects/batch`` git-lfs batch API, "basic" transfer
- ``PUT  /lfs-objects/{oid}`` and ``POST /lfs-verify``  the upload and verify actions it hands out

Like the Hub, preupload sends a file to LFS when its path matches an ``filter=lfs`` pattern
of the repo's ``.gitattributes`` (parquet and png here), when its sample holds a NUL byte,
or when it is over 10 MB; a commit carrying such a file inline, or naming an LFS object that
was never uploaded, is rejected. The Hub's newer Xet transfer cannot be simulated (it needs
a content-addressed storage service), so while the server runs, ``huggingface_hub`` is told
to use the classic LFS transfer (``HF_HUB_DISABLE_XET``, a setting users have too).
Requests without the expected bearer token get 401.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import huggingface_hub.constants
import yaml

LFS_PATTERNS = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n*.png filter=lfs diff=lfs merge=lfs -text\n"
REGULAR_MAX_BYTES = 10 * 1024 * 1024
LFS_BATCH = ".git/info/lfs/objects/batch"


def git_blob_oid(data: bytes) -> str:
    """The git blob sha1 the Hub reports as a regular file's oid."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_patterns(files: dict[str, bytes]) -> list[str]:
    """The ``filter=lfs`` patterns of a tree's ``.gitattributes``."""
    text = files.get(".gitattributes", b"").decode()
    return [line.split()[0] for line in text.splitlines() if "filter=lfs" in line]


def goes_to_lfs(path: str, sample: bytes, size: int, patterns: list[str]) -> bool:
    """The Hub's rule: a tracked pattern, binary content, or too big for a git blob."""
    name = path.rsplit("/", 1)[-1]
    tracked = any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(name, p) for p in patterns)
    return tracked or b"\0" in sample or size > REGULAR_MAX_BYTES


@dataclass
class Commit:
    """One commit: full tree snapshot and its parent."""

    oid: str
    parent: str | None
    files: dict[str, bytes]
    message: str
    lfs: set[str] = field(default_factory=set)  # paths stored as LFS objects


@dataclass
class Repo:
    """A dataset repository's commits, branches and tags."""

    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def resolve(self, rev: str) -> Commit | None:
        oid = self.branches.get(rev) or self.tags.get(rev) or rev
        return self.commits.get(oid)


class HubState:
    """What the server holds, plus a log of (method, path) requests for tests to inspect."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str]] = []
        self.commit_payloads: list[list[dict[str, Any]]] = []
        self.lfs_objects: dict[str, bytes] = {}  # sha256 -> content, uploaded and verified
        self.lfs_uploads: list[str] = []  # sha256 of every PUT, in order
        self.lock = threading.Lock()


class HubHandler(BaseHTTPRequestHandler):
    """Routes requests to the Hub endpoints above."""

    server: HubServer

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    # -- helpers -------------------------------------------------------------------------
    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
              raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(body if body is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if raw is None else "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, status: int, code: str, message: str) -> None:
        self._send(status, {"error": message}, {"X-Error-Code": code, "X-Error-Message": message})

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _authorized(self) -> bool:
        if self.headers.get("authorization") == f"Bearer {self.server.state.token}":
            return True
        self._error(401, "Unauthorized", "Invalid credentials in Authorization header")
        return False

    def _repo(self, repo_id: str) -> Repo | None:
        repo = self.server.state.repos.get(repo_id)
        if repo is None:
            self._error(404, "RepoNotFound", f"Repository not found: {repo_id}")
        return repo

    def _commit_at(self, repo_id: str, rev: str) -> Commit | None:
        """The commit a branch, tag or oid names; answers 404 (and returns None) when there is none."""
        repo = self._repo(repo_id)
        if repo is None:
            return None
        commit = repo.resolve(rev)
        if commit is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        return commit

    # -- dispatch ------------------------------------------------------------------------
    def do_GET(self) -> None:
        """Refs, revision info, file downloads."""
        self._dispatch()

    def do_HEAD(self) -> None:
        """File metadata for downloads."""
        self._dispatch()

    def do_POST(self) -> None:
        """Create repo, validate yaml, preupload, commit, tag, LFS batch and verify."""
        self._dispatch()

    def do_PUT(self) -> None:
        """LFS object upload (the batch API's "basic" upload action)."""
        self._dispatch()

    def _dispatch(self) -> None:
        state = self.server.state
        path = unquote(urlsplit(self.path).path)
        with state.lock:
            state.requests.append((self.command, path))
            parts = path.strip("/").split("/")
            if self.command == "PUT" and parts[:1] == ["lfs-objects"] and len(parts) == 2:
                return self._lfs_put(parts[1])  # a presigned URL: the signature is the credential
            if not self._authorized():
                return
            if self.command == "POST" and path == "/api/validate-yaml":
                return self._validate_yaml()
            if self.command == "POST" and path == "/api/repos/create":
                return self._create_repo()
            if parts[:2] == ["api", "datasets"] and len(parts) >= 5:
                repo_id, action, rest = "/".join(parts[2:4]), parts[4], "/".join(parts[5:])
                routes = {("GET", "refs"): self._refs, ("POST", "preupload"): self._preupload,
                          ("POST", "commit"): self._commit, ("POST", "tag"): self._tag,
                          ("GET", "revision"): self._revision, ("GET", "tree"): self._tree}
                handler = routes.get((self.command, action))
                if handler is not None:
                    return handler(repo_id, rest)
            if parts[:1] == ["datasets"] and len(parts) >= 6 and parts[3] == "resolve":
                return self._resolve("/".join(parts[1:3]), parts[4], "/".join(parts[5:]))
            if self.command == "POST" and path.startswith("/datasets/") and path.endswith(LFS_BATCH):
                return self._lfs_batch(path.removeprefix("/datasets/").removesuffix(LFS_BATCH))
            if self.command == "POST" and path == "/lfs-verify":
                return self._lfs_verify()
            if parts[:2] == ["api", "datasets"] and len(parts) >= 5 and parts[4] == "xet-write-token":
                return self._error(501, "NotImplemented",
                                   "this loopback Hub speaks the LFS transfer only; set HF_HUB_DISABLE_XET=1")
            self._error(404, "EntryNotFound", f"no route for {self.command} {path}")

    # -- endpoints -----------------------------------------------------------------------
    def _validate_yaml(self) -> None:
        content = json.loads(self._body())["content"]
        if not content.startswith("---"):
            warning = {"message": "empty or missing yaml metadata"}
            return self._send(200, {"errors": [], "warnings": [warning]})
        try:
            yaml.safe_load(content.split("---")[1])
        except yaml.YAMLError as exc:
            return self._send(400, {"errors": [{"message": str(exc)}], "warnings": []})
        self._send(200, {"errors": [], "warnings": []})

    def _create_repo(self) -> None:
        payload = json.loads(self._body())
        org = payload.get("organization")
        repo_id = f"{org}/{payload['name']}" if org else payload["name"]
        url = f"{self.server.url}/datasets/{repo_id}"
        if payload.get("type") != "dataset":
            return self._error(400, "BadRequest", "this test server only holds datasets")
        if repo_id in self.server.state.repos:
            return self._send(409, {"error": "You already created this dataset repo", "url": url})
        repo = Repo()
        first = Commit(oid=hashlib.sha1(repo_id.encode()).hexdigest(), parent=None,
                       files={".gitattributes": LFS_PATTERNS},
                       message="initial commit")
        repo.commits[first.oid] = first
        repo.branches["main"] = first.oid
        self.server.state.repos[repo_id] = repo
        self._send(200, {"url": url, "name": repo_id})

    def _refs(self, repo_id: str, _rest: str) -> None:
        repo = self._repo(repo_id)
        if repo is None:
            return
        self._send(200, {
            "branches": [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": o}
                         for n, o in repo.branches.items()],
            "converts": [],
            "tags": [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": o} for n, o in repo.tags.items()],
        })

    def _preupload(self, repo_id: str, rev: str) -> None:
        repo = self._repo(repo_id)
        if repo is None:
            return
        head = repo.resolve(rev)
        files = json.loads(self._body())["files"]
        patterns = lfs_patterns(head.files) if head else []
        answer = []
        for f in files:
            existing = head.files.get(f["path"]) if head else None
            sample = base64.b64decode(f.get("sample", ""))
            lfs = goes_to_lfs(f["path"], sample, int(f.get("size", 0)), patterns)
            oid = None
            if existing is not None:
                oid = hashlib.sha256(existing).hexdigest() if lfs else git_blob_oid(existing)
            answer.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular",
                           "shouldIgnore": False, "oid": oid})
        self._send(200, {"files": answer, "commitOid": head.oid if head else None})

    def _commit(self, repo_id: str, rev: str) -> None:
        repo = self._repo(repo_id)
        if repo is None:
            return
        if self.headers.get("Content-Type") != "application/x-ndjson":
            return self._error(400, "BadRequest", "commit payload must be application/x-ndjson")
        lines = [json.loads(line) for line in self._body().splitlines() if line.strip()]
        self.server.state.commit_payloads.append(lines)
        header = lines[0]
        if header.get("key") != "header":
            return self._error(400, "BadRequest", "first NDJSON line must be the header")
        head_oid = repo.branches.get(rev)
        parent = header["value"].get("parentCommit")
        if parent is not None and parent != head_oid:
            return self._error(412, "PreconditionFailed",
                               "A commit has happened since. Please refresh and try again.")
        previous = repo.commits[head_oid] if head_oid else None
        files = dict(previous.files) if previous else {}
        lfs = set(previous.lfs) if previous else set()
        patterns = lfs_patterns(files)
        for line in lines[1:]:
            value = line["value"]
            if line["key"] == "file":
                data = base64.b64decode(value["content"])
                if goes_to_lfs(value["path"], data[:512], len(data), patterns):
                    return self._error(400, "BadRequest", f"Your push was rejected because {value['path']} "
                                       "is a binary file: store it with LFS")
                files[value["path"]] = data
                lfs.discard(value["path"])
            elif line["key"] == "lfsFile":
                stored = self.server.state.lfs_objects.get(value["oid"])
                if stored is None:
                    return self._error(422, "LfsObjectMissing", f"LFS object {value['oid']} for "
                                       f"{value['path']} was never uploaded")
                files[value["path"]] = stored
                lfs.add(value["path"])
            elif line["key"] == "deletedFile":
                files.pop(value["path"], None)
                lfs.discard(value["path"])
            else:
                return self._error(400, "BadRequest", f"unsupported operation {line['key']}")
        oid = hashlib.sha1(json.dumps([head_oid, sorted((p, git_blob_oid(d)) for p, d in files.items()),
                                       header["value"]["summary"]]).encode()).hexdigest()
        repo.commits[oid] = Commit(oid=oid, parent=head_oid, files=files, message=header["value"]["summary"],
                                   lfs=lfs)
        repo.branches[rev] = oid
        self._send(200, {"success": True, "commitOid": oid, "commitUrl": f"{self.server.url}/datasets/"
                         f"{repo_id}/commit/{oid}", "pullRequestUrl": None})

    def _tag(self, repo_id: str, rev: str) -> None:
        commit = self._commit_at(repo_id, rev)
        if commit is None:
            return
        tags = self.server.state.repos[repo_id].tags
        tag = json.loads(self._body())["tag"]
        if tag in tags:
            return self._error(409, "Conflict", f"Tag {tag} already exists")
        tags[tag] = commit.oid
        self._send(200, {})

    def _revision(self, repo_id: str, rev: str) -> None:
        commit = self._commit_at(repo_id, rev)
        if commit is None:
            return
        self._send(200, {"id": repo_id, "_id": repo_id, "sha": commit.oid, "private": False,
                         "siblings": [{"rfilename": p} for p in sorted(commit.files)]})

    def _tree(self, repo_id: str, rev: str) -> None:
        commit = self._commit_at(repo_id, rev)
        if commit is None:
            return
        entries = []
        for path, data in sorted(commit.files.items()):
            size = len(data)
            entry: dict[str, Any] = {"type": "file", "oid": git_blob_oid(data), "size": size, "path": path}
            if path in commit.lfs:
                entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": size, "pointerSize": 132}
            entries.append(entry)
        self._send(200, entries)

    def _resolve(self, repo_id: str, rev: str, file_path: str) -> None:
        commit = self._commit_at(repo_id, rev)
        if commit is None:
            return
        data = commit.files.get(file_path)
        if data is None:
            return self._error(404, "EntryNotFound", f"{file_path} does not exist at {rev}")
        headers = {"X-Repo-Commit": commit.oid, "ETag": f'"{git_blob_oid(data)}"'}
        if file_path in commit.lfs:  # the Hub names the object, not the pointer
            headers["X-Linked-Etag"] = f'"{hashlib.sha256(data).hexdigest()}"'
            headers["X-Linked-Size"] = str(len(data))
        self._send(200, raw=data, headers=headers)

    def _lfs_batch(self, repo_id: str) -> None:
        if self._repo(repo_id) is None:
            return
        request = json.loads(self._body())
        if request.get("operation") != "upload" or "basic" not in request.get("transfers", ["basic"]):
            return self._error(400, "BadRequest", "only basic uploads are served here")
        objects = []
        for obj in request["objects"]:
            answer: dict[str, Any] = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if obj["oid"] not in self.server.state.lfs_objects:
                answer["actions"] = {
                    "upload": {"href": f"{self.server.url}/lfs-objects/{obj['oid']}"
                                       f"?X-Amz-Signature={self._signature(obj['oid'])}"},
                    "verify": {"href": f"{self.server.url}/lfs-verify"},
                }
            objects.append(answer)
        self._send(200, {"transfer": "basic", "objects": objects, "hash_algo": "sha256"})

    def _signature(self, oid: str) -> str:
        return hashlib.sha256(f"{self.server.state.token}:{oid}".encode()).hexdigest()

    def _lfs_put(self, oid: str) -> None:
        data = self._body()
        signature = dict(p.split("=", 1) for p in urlsplit(self.path).query.split("&") if "=" in p)
        if signature.get("X-Amz-Signature") != self._signature(oid):
            return self._send(403, raw=b"<Error><Code>SignatureDoesNotMatch</Code></Error>")
        if hashlib.sha256(data).hexdigest() != oid:
            return self._error(400, "BadDigest", f"content does not hash to {oid}")
        self.server.state.lfs_objects[oid] = data
        self.server.state.lfs_uploads.append(oid)
        self._send(200, {})

    def _lfs_verify(self) -> None:
        body = json.loads(self._body())
        stored = self.server.state.lfs_objects.get(body["oid"])
        if stored is None or len(stored) != body["size"]:
            return self._error(404, "ObjectNotFound", f"LFS object {body['oid']} not uploaded")
        self._send(200, {})


class HubServer(ThreadingHTTPServer):
    """The server bound to 127.0.0.1 on a free port; ``url`` is its endpoint."""

    daemon_threads = True

    def __init__(self, token: str = "hf_test_token") -> None:
        super().__init__(("127.0.0.1", 0), HubHandler)
        self.state = HubState(token)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def __enter__(self) -> HubServer:
        self._xet_setting = huggingface_hub.constants.HF_HUB_DISABLE_XET
        huggingface_hub.constants.HF_HUB_DISABLE_XET = True
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        huggingface_hub.constants.HF_HUB_DISABLE_XET = self._xet_setting
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=10)
