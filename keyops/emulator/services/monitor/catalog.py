"""The platform metrics of Microsoft.CognitiveServices/accounts that the emulator serves.

Names, display names, units, aggregations and dimensions follow Microsoft's "Supported metrics
for Microsoft.CognitiveServices/accounts" table (MicrosoftDocs/azure-monitor-docs,
articles/azure-monitor/reference/supported-metrics/microsoft-cognitiveservices-accounts-metrics.md).
Each metric is computed from :class:`Fact` records (served calls and generated history) by a
``measure`` giving a numerator and, for ratio metrics (averages, rates), a denominator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

NAMESPACE = "Microsoft.CognitiveServices/accounts"
#: Dimension values shared by every fact.
API_NAME = "Azure OpenAI API"
NON_STREAMING = "Non Streaming"
STREAMING = "Streaming"


@dataclass(frozen=True)
class Fact:
    """Activity of one dimension combination over ``minutes`` minutes from ``start`` (Unix s).

    Served calls are one-minute facts; generated history is hourly. ``latency_ms`` is the sum
    over successful requests (for the time-to-response average).
    """

    start: int
    minutes: int
    dims: tuple[tuple[str, str], ...]
    requests: float
    prompt: float = 0.0
    completion: float = 0.0
    latency_ms: float = 0.0

    def dim(self, name: str) -> str:
        """A dimension's value ('' when the fact does not carry it)."""
        for key, value in self.dims:
            if key == name:
                return value
        return ""

    @property
    def status(self) -> int:
        """The HTTP status of the calls in this fact."""
        try:
            return int(self.dim("StatusCode"))
        except ValueError:
            return 0


Measure = Callable[[Fact], tuple[float, float]]

REQUEST_DIMS = (
    "ApiName",
    "OperationName",
    "Region",
    "StreamType",
    "ModelDeploymentName",
    "ModelName",
    "ModelVersion",
    "StatusCode",
)
TOKEN_DIMS = (
    "ApiName",
    "ModelDeploymentName",
    "FeatureName",
    "UsageChannel",
    "Region",
    "ModelVersion",
)
LEGACY_DIMS = ("ApiName", "OperationName", "Region", "RatelimitKey")


@dataclass(frozen=True)
class MetricDef:
    """One metric: how it is described, aggregated and computed."""

    name: str
    display: str
    description: str
    unit: str
    category: str
    primary: str
    supported: tuple[str, ...]
    dims: tuple[str, ...]
    measure: Measure
    ratio: bool = False
    metric_class: str = field(default="Transactions")

    def dimension(self, name: str) -> str | None:
        """The canonical spelling of a dimension of this metric (case-insensitive), or None."""
        return next((d for d in self.dims if d.lower() == name.lower()), None)


def _ok(f: Fact) -> bool:
    return 200 <= f.status < 300


def _calls(pred: Callable[[Fact], bool]) -> Measure:
    return lambda f: (f.requests if pred(f) else 0.0, 0.0)


_SUM = ("Total",)
_RATIO = ("Minimum", "Maximum", "Average")
_HTTP = "Azure OpenAI - HTTP Requests"
_USAGE = "Azure OpenAI - Usage"
_LEGACY = "Cognitive Services - HTTP Requests"
_NOT_AOAI = " Do not use for Azure OpenAI service."

METRICS: tuple[MetricDef, ...] = (
    MetricDef(
        "AzureOpenAIRequests",
        "Azure OpenAI Requests",
        "Number of calls made to the Azure OpenAI API over a period of time. Applies to "
        "PTU, PTU-Managed and Pay-as-you-go deployments.",
        "Count",
        _HTTP,
        "Total",
        _SUM,
        REQUEST_DIMS,
        _calls(lambda f: True),
    ),
    MetricDef(
        "ProcessedPromptTokens",
        "Processed Prompt Tokens",
        "Number of prompt tokens processed (input) on an OpenAI model.",
        "Count",
        _USAGE,
        "Total",
        _SUM,
        TOKEN_DIMS,
        lambda f: (f.prompt, 0.0),
    ),
    MetricDef(
        "GeneratedTokens",
        "Generated Completion Tokens",
        "Number of tokens generated (output) from an OpenAI model.",
        "Count",
        _USAGE,
        "Total",
        _SUM,
        TOKEN_DIMS,
        lambda f: (f.completion, 0.0),
    ),
    MetricDef(
        "TokenTransaction",
        "Processed Inference Tokens",
        "Number of inference tokens processed on an OpenAI model. Calculated as prompt "
        "tokens (input) plus generated tokens (output).",
        "Count",
        _USAGE,
        "Total",
        _SUM,
        TOKEN_DIMS,
        lambda f: (f.prompt + f.completion, 0.0),
    ),
    MetricDef(
        "AzureOpenAITimeToResponse",
        "Time to Response",
        "Recommended latency (responsiveness) measure for streaming requests.",
        "MilliSeconds",
        "Azure OpenAI - Latency",
        "Average",
        _RATIO,
        REQUEST_DIMS,
        lambda f: (f.latency_ms, f.requests if _ok(f) else 0.0),
        ratio=True,
        metric_class="Latency",
    ),
    MetricDef(
        "AzureOpenAIAvailabilityRate",
        "Azure OpenAI AvailabilityRate",
        "Availability percentage with the following calculation: (Total Calls - Server "
        "Errors)/Total Calls. Server Errors include any HTTP responses >=500.",
        "Percent",
        _HTTP,
        "Average",
        _RATIO,
        REQUEST_DIMS[:-1],
        lambda f: (0.0 if f.status >= 500 else 100.0 * f.requests, f.requests),
        ratio=True,
        metric_class="Availability",
    ),
    MetricDef(
        "TotalCalls",
        "Total Calls",
        "Total number of calls." + _NOT_AOAI,
        "Count",
        _LEGACY,
        "Total",
        _SUM,
        LEGACY_DIMS,
        _calls(lambda f: True),
    ),
    MetricDef(
        "SuccessfulCalls",
        "Successful Calls",
        "Number of successful calls." + _NOT_AOAI,
        "Count",
        _LEGACY,
        "Total",
        _SUM,
        LEGACY_DIMS,
        _calls(_ok),
    ),
    MetricDef(
        "TotalErrors",
        "Total Errors",
        "Total number of calls with error response (HTTP response code 4xx or 5xx)." + _NOT_AOAI,
        "Count",
        _LEGACY,
        "Total",
        _SUM,
        LEGACY_DIMS,
        _calls(lambda f: f.status >= 400),
        metric_class="Errors",
    ),
    MetricDef(
        "ClientErrors",
        "Client Errors",
        "Number of calls with client side error (HTTP response code 4xx)." + _NOT_AOAI,
        "Count",
        _LEGACY,
        "Total",
        _SUM,
        LEGACY_DIMS,
        _calls(lambda f: 400 <= f.status < 500),
        metric_class="Errors",
    ),
    MetricDef(
        "ServerErrors",
        "Server Errors",
        "Number of calls with service internal error (HTTP response code 5xx)." + _NOT_AOAI,
        "Count",
        _LEGACY,
        "Total",
        _SUM,
        LEGACY_DIMS,
        _calls(lambda f: f.status >= 500),
        metric_class="Errors",
    ),
    MetricDef(
        "BlockedCalls",
        "Blocked Calls",
        "Number of calls that exceeded rate or quota limit." + _NOT_AOAI,
        "Count",
        _LEGACY,
        "Total",
        _SUM,
        LEGACY_DIMS,
        _calls(lambda f: f.status == 429),
        metric_class="Errors",
    ),
)

BY_NAME = {m.name.lower(): m for m in METRICS}
#: The metric a query without ``metricnames`` returns.
DEFAULT_METRIC = METRICS[0]


def find_metric(name: str) -> MetricDef | None:
    """A metric by REST name (case-insensitive), or None."""
    return BY_NAME.get(name.strip().lower())


def metric_dims(
    *,
    operation: str,
    region: str,
    stream: bool,
    deployment: str,
    model: str,
    version: str,
    status: int,
    ratelimit_key: str,
) -> tuple[tuple[str, str], ...]:
    """Every dimension value of a call (each metric reads the ones it has)."""
    return (
        ("ApiName", API_NAME),
        ("OperationName", operation),
        ("Region", region),
        ("StreamType", STREAMING if stream else NON_STREAMING),
        ("ModelDeploymentName", deployment),
        ("ModelName", model),
        ("ModelVersion", version),
        ("StatusCode", str(status)),
        ("FeatureName", model),
        ("UsageChannel", "None"),
        ("RatelimitKey", ratelimit_key),
    )
