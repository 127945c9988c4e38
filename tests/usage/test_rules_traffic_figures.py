"""Volume rules' numbers at their edges, written out: what makes a lone hour a burst, when a
burst's tokens or failures moved, and what a sustained rise needs. Each case sits exactly on a
documented figure, or one step to either side of it, on plain lists."""

from __future__ import annotations

import pytest

from keyops.severity import Severity
from keyops.usage.baseline import Baseline
from keyops.usage.metrics import HourlyMetrics
from keyops.usage.model import UsageSeries
from keyops.usage.rules_traffic import (
    _errors_moved,
    _overlap,
    _past,
    _tokens_moved,
    _wild,
    burst_finding,
    bursty,
    drop_finding,
    drops,
    is_lone_burst,
    spike_finding,
    spikes,
    sustained,
)
from keyops.usage.sensitivity import Sensitivity
from keyops.usage.windows import Interval
from tests.usage.factory import RID

N = 48
USUAL = 100.0


def _one_hour(at: int, value: float, usual: float = USUAL) -> list[float]:
    calls = [usual] * N
    calls[at] = value
    return calls


@pytest.mark.parametrize(("value", "lone"), [(200.0, True), (199.0, False), (260.0, True)])
def test_a_lone_hour_is_a_burst_from_twice_usual(value: float, lone: bool) -> None:
    assert bursty(_one_hour(20, value), [USUAL] * N) is lone


@pytest.mark.parametrize(("neighbour", "lone"), [(150.9, True), (151.0, False)])
def test_a_burst_stands_alone_while_its_neighbours_are_under_one_and_a_half_times_plus_one(
    neighbour: float, lone: bool
) -> None:
    for side in (19, 21):
        calls = _one_hour(20, 300.0)
        calls[side] = neighbour
        assert bursty(calls, [USUAL] * N) is lone, side


@pytest.mark.parametrize(("usual", "lone"), [(12.0, True), (11.0, False)])
def test_a_burst_must_be_three_sigma_for_poisson_counts(usual: float, lone: bool) -> None:
    """Twice usual is z 3.04 over 12 calls an hour and 2.92 over 11."""
    assert bursty(_one_hour(20, 2 * usual, usual), [usual] * N) is lone


@pytest.mark.parametrize(("at", "lone"), [(0, False), (1, True), (N - 2, True), (N - 1, False)])
def test_the_first_and_last_hours_have_no_two_neighbours_to_stand_out_from(
    at: int, lone: bool
) -> None:
    assert bursty(_one_hour(at, 300.0), [USUAL] * N) is lone


def test_one_lone_hour_makes_an_account_bursty_and_none_does_not() -> None:
    assert bursty(_one_hour(20, 300.0), [USUAL] * N)
    assert not bursty([USUAL] * N, [USUAL] * N)


HOUR = 30


def _metrics(calls: list[float], tokens: list[float], errors: list[float]) -> HourlyMetrics:
    stamps = tuple(1_756_684_800 + 3600 * t for t in range(len(calls)))
    ok = tuple(c - f for c, f in zip(calls, errors, strict=True))
    series = UsageSeries(
        RID.format("a"), "a", stamps, tuple(calls), {"200": ok, "500": tuple(errors)},
        tuple(tokens), tuple(0.0 for _ in calls),
    )  # fmt: skip
    return HourlyMetrics.of(series)


def _burst_tokens(per_call: float, calls: float = 300.0, n: int = N) -> HourlyMetrics:
    """A burst of *calls* at HOUR, its calls at *per_call* tokens; other calls at 500."""
    counts = _one_hour(HOUR, calls) + [USUAL] * (n - N)
    tokens = [c * 500.0 for c in counts]
    tokens[HOUR] = calls * per_call
    return _metrics(counts, tokens, [0.0] * n)


BURST = Interval(HOUR, HOUR + 1, 300.0, USUAL, 9.0, HOUR)


@pytest.mark.parametrize(
    ("per_call", "moved"),
    [(1000.0, True), (999.0, False), (250.0, True), (251.0, False), (1500.0, True), (200.0, True)],
)
def test_a_bursts_tokens_moved_at_twice_or_half_the_usual_per_call(
    per_call: float, moved: bool
) -> None:
    assert _tokens_moved(_burst_tokens(per_call), BURST) is moved


@pytest.mark.parametrize(("calls", "moved"), [(5.0, True), (4.0, False)])
def test_a_bursts_tokens_are_judged_on_five_calls_or_more(calls: float, moved: bool) -> None:
    burst = Interval(HOUR, HOUR + 1, calls, USUAL, 9.0, HOUR)
    assert _tokens_moved(_burst_tokens(1000.0, calls), burst) is moved


@pytest.mark.parametrize(("history", "moved"), [(5.0, False), (4.0, True)])
def test_the_usual_tokens_per_call_are_of_hours_with_five_calls_or_more(
    history: float, moved: bool
) -> None:
    """The burst's calls cost 2,000 tokens, as do those of 16 quieter hours before it (*history*
    calls each); 14 busy hours cost 500. With five calls the quiet hours count and 2,000 is the
    usual; with four only the busy hours do, and the burst is four times their 500."""
    m = _burst_tokens(2000.0)
    calls = list(m.calls)
    tokens = list(m.tokens)
    for t in [*range(0, HOUR, 2), HOUR - 1]:
        calls[t], tokens[t] = history, history * 2000.0
    assert _tokens_moved(_metrics(calls, tokens, [0.0] * N), BURST) is moved


def _history(at: int, cost: list[float], burst: float) -> bool:
    """Whether a 300-call burst at hour *at* of *burst* tokens per call moved, after hours of
    100 calls at *cost* tokens per call."""
    n = len(cost)
    counts = [USUAL] * n
    counts[at] = 300.0
    tokens = [c * p for c, p in zip(counts, cost, strict=True)]
    tokens[at] = 300.0 * burst
    return _tokens_moved(_metrics(counts, tokens, [0.0] * n), Interval(at, at + 1, 0, 0, 0, at))


def test_the_usual_tokens_per_call_are_of_the_week_before() -> None:
    """A burst at hour 200 at 900 tokens per call. Of the 168 hours before it, 84 cost 250 and
    84 cost 500 per call, so the median is 500 and 900 is under twice that; every hour before
    those costs 250, the first of the 168 costs 500, and a window an hour longer or shorter (or
    reaching further back) would make 250 the median (900 is more than twice it)."""
    cost = [250.0] * 32 + [500.0] * 84 + [250.0] * 84 + [500.0]
    assert not _history(200, cost, 900.0)


def test_the_usual_tokens_per_call_are_of_every_hour_from_the_first() -> None:
    """A burst at hour 30 at 900 tokens per call: the 30 hours before it are 15 at 250 and 15
    at 500 (hour 0 among them), so the median is 500; without hour 0, or with the series' last
    hour (250) wrapped in, it would be 250."""
    cost = [500.0] + [250.0] * 15 + [500.0] * 14 + [900.0] + [500.0] * 16 + [250.0]
    assert not _history(30, cost, 900.0)


def test_a_usual_of_two_hours_is_the_higher_one() -> None:
    """Two hours before the burst: one without tokens, one at 500 per call. The usual is 500
    (a burst at 1,000 moved), not the one without tokens (no usual, nothing moved)."""
    cost = [500.0] * N
    counts = [0.0] * N
    counts[10], counts[11], counts[HOUR] = 100.0, 100.0, 300.0
    tokens = [c * p for c, p in zip(counts, cost, strict=True)]
    tokens[10] = 0.0
    tokens[HOUR] = 300.0 * 1000.0
    assert _tokens_moved(_metrics(counts, tokens, [0.0] * N), BURST)


def test_hours_without_tokens_below_the_median_leave_it_a_usual() -> None:
    """Eleven of the 30 hours before the burst carry no tokens, the rest 500 per call: the
    median is 500 and a burst at 1,000 moved."""
    cost = [0.0] * 11 + [500.0] * (N - 11)
    assert _history(HOUR, cost, 1000.0)


@pytest.mark.parametrize(("failed", "moved"), [(30.0, True), (29.0, False), (10.0, False)])
def test_a_bursts_failed_share_moved_by_ten_points(failed: float, moved: bool) -> None:
    """300 calls in the burst; the other hours fail at 0%: 30 failures is 10% more."""
    errors = [0.0] * N
    errors[HOUR] = failed
    m = _metrics(_one_hour(HOUR, 300.0), [0.0] * N, errors)
    assert _errors_moved(m, BURST) is moved


@pytest.mark.parametrize(("failed", "moved"), [(10.0, True), (9.0, False)])
def test_a_bursts_failures_count_from_ten(failed: float, moved: bool) -> None:
    errors = [0.0] * N
    errors[HOUR] = failed
    m = _metrics(_one_hour(HOUR, 50.0), [0.0] * N, errors)
    burst = Interval(HOUR, HOUR + 1, 50.0, USUAL, 9.0, HOUR)
    assert _errors_moved(m, burst) is moved


def test_a_bursts_failed_share_is_against_the_other_hours_share() -> None:
    """The other hours fail at 25%: the burst must fail at 35% (105 of 300), not 10%."""
    calls = _one_hour(HOUR, 300.0)
    errors = [25.0] * N
    for failed, moved in ((105.0, True), (104.0, False)):
        errors[HOUR] = failed
        assert _errors_moved(_metrics(calls, [0.0] * N, errors), BURST) is moved, failed


def _afternoon() -> Baseline:
    """50 calls an hour expected, 200 from hour 100 to 105: the average hour is 55.4."""
    expected = [50.0] * 168
    expected[100:106] = [200.0] * 6
    return Baseline(tuple(expected), noise=0.1, pooled=20.0, mode="flat")


@pytest.mark.parametrize(
    ("hours", "times", "found"), [(3, 2.0, True), (2, 2.0, False), (3, 1.99, False)]
)
def test_a_sustained_rise_is_three_hours_at_two_thirds_of_the_spike_ratio(
    hours: int, times: float, found: bool
) -> None:
    """Twice usual (2/3 of the spike ratio of 3) for three hours of the afternoon: 200 calls
    over usual each, past twice the average hour."""
    base = _afternoon()
    calls = list(base.expected)
    calls[100 : 100 + hours] = [200.0 * times] * hours
    m = _metrics(calls, [0.0] * 168, [0.0] * 168)
    runs = sustained(m, base, Sensitivity())
    assert [(iv.start, iv.end) for iv in runs] == ([(100, 100 + hours)] if found else [])


@pytest.mark.parametrize(("times", "found"), [(3.0, True), (2.99, False)])
def test_a_sustained_rise_adds_twice_the_average_hour(times: float, found: bool) -> None:
    """A flat 100 calls an hour: three hours must add 200 each, three times usual."""
    calls = [USUAL] * 168
    calls[100:103] = [USUAL * times] * 3
    m = _metrics(calls, [0.0] * 168, [0.0] * 168)
    runs = sustained(m, Baseline((USUAL,) * 168, 0.1, 20.0, "flat"), Sensitivity())
    assert [(iv.start, iv.end) for iv in runs] == ([(100, 103)] if found else [])


def test_every_hour_of_a_sustained_rise_is_past_the_ratio_itself() -> None:
    """Three hours at 2.5x, 2.5x and 1.5x of the afternoon pass as a window (2.2x), but one
    hour is under twice usual: two hours in a row are no sustained rise."""
    base = _afternoon()
    calls = list(base.expected)
    calls[100:103] = [500.0, 500.0, 300.0]
    m = _metrics(calls, [0.0] * 168, [0.0] * 168)
    assert sustained(m, base, Sensitivity()) == []
    calls[102] = 400.0
    runs = sustained(_metrics(calls, [0.0] * 168, [0.0] * 168), base, Sensitivity())
    assert [(iv.start, iv.end) for iv in runs] == [(100, 103)]


@pytest.mark.parametrize(
    ("hours", "usual", "after"),
    [(2, 10.0, 2), (3, 5.0, 2), (4, 4.0, 2), (6, 2.5, 2), (8, 2.0, 2), (12, 1.3, 3), (24, 0.64, 6)],
)
def test_each_drop_window_length_finds_the_outages_only_it_can(
    hours: int, usual: float, after: int
) -> None:
    """An outage of *hours* on an account of *usual* calls an hour, the hours either side at
    *after* x usual (callers catching up): a window one hour shorter expects under 15 calls, and
    one hour longer takes in a busy neighbour and is over a fifth of usual. Windows of 2, 3, 4,
    6, 8, 12 and 24 hours are tried; each outage is found by its own length."""
    at = 60
    calls = [usual] * 168
    calls[at - 1] = calls[at + hours] = usual * after
    calls[at : at + hours] = [0.0] * hours
    base = Baseline((usual,) * 168, noise=0.1, pooled=100.0, mode="flat")
    found = drops(_metrics(calls, [0.0] * 168, [0.0] * 168), base, Sensitivity())
    assert [(iv.start, iv.end) for iv in found] == [(at, at + hours)]


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [((2, 5), (5, 8), False), ((5, 8), (2, 5), False), ((2, 5), (4, 8), True),
     ((5, 8), (2, 6), True), ((9, 12), (2, 5), False), ((2, 5), (9, 12), False),
     ((2, 9), (4, 5), True)],
)  # fmt: skip
def test_intervals_overlap_when_they_share_an_hour(
    a: tuple[int, int], b: tuple[int, int], overlap: bool
) -> None:
    first, second = Interval(*a, 0.0, 0.0, 0.0, a[0]), Interval(*b, 0.0, 0.0, 0.0, b[0])
    assert _overlap(first, second) is overlap


@pytest.mark.parametrize(
    ("end", "burst", "wild"),
    [(12, 8, True), (12, 9, False), (12, 12, False), (12, 13, True), (11, 11, False)],
)
def test_a_spike_and_the_hour_either_side_are_left_out_of_the_burst_history(
    end: int, burst: int, wild: bool
) -> None:
    """A lone 3x hour at *burst*; the spike judged runs from hour 10 to *end* (flat calls: only
    its span matters)."""
    calls = _one_hour(burst, 300.0)
    m = _metrics(calls, [0.0] * N, [0.0] * N)
    base = Baseline((USUAL,) * N, noise=0.1, pooled=20.0, mode="flat")
    assert _wild(m, base, Interval(10, end, 0.0, 0.0, 0.0, 10)) is wild


@pytest.mark.parametrize(("neighbour", "lone"), [(USUAL, True), (200.0, False)])
def test_both_neighbours_of_an_odd_hour_are_looked_at(neighbour: float, lone: bool) -> None:
    calls = _one_hour(21, 300.0)
    calls[22] = neighbour
    assert bursty(calls, [USUAL] * N) is lone


def test_two_lone_hours_make_an_account_bursty_too() -> None:
    calls = _one_hour(10, 300.0)
    calls[30] = 300.0
    assert bursty(calls, [USUAL] * N)


@pytest.mark.parametrize(("calls", "past"), [(100.0, False), (80.0, False), (101.0, True)])
def test_an_hour_is_past_a_ratio_under_one_only_above_usual(calls: float, past: bool) -> None:
    m = _metrics(_one_hour(HOUR, calls), [0.0] * N, [0.0] * N)
    base = Baseline((USUAL,) * N, noise=0.1, pooled=20.0, mode="flat")
    assert _past(m, base, HOUR, 0.5) is past


def _flat_metrics(n: int = N) -> HourlyMetrics:
    return _metrics([USUAL] * n, [0.0] * n, [0.0] * n)


@pytest.mark.parametrize(("start", "end"), [(1, 3), (2, 4)])
def test_a_lone_bursts_figures_are_per_hour_of_its_span(start: int, end: int) -> None:
    burst = Interval(start, end, 601.0, 201.0, 9.0, start)
    finding = burst_finding(_flat_metrics(), burst)
    assert (finding.observed, finding.expected) == (300.5, 100.5)
    assert finding.message.startswith("Calls rose to 300/h, 3.0x the usual 100/h for ")
    assert f"for {end - start} h, in one hour" in finding.message


def test_a_spikes_figures_are_per_hour_of_its_span() -> None:
    finding = spike_finding(_flat_metrics(), Interval(2, 5, 900.0, 300.0, 9.0, 3))
    assert (finding.observed, finding.expected, finding.severity) == (300.0, 100.0, Severity.MEDIUM)


@pytest.mark.parametrize(("observed", "severity"), [(6.0, Severity.HIGH), (4.0, Severity.MEDIUM)])
def test_a_spike_over_half_a_call_usual_is_high_at_ten_times_it(
    observed: float, severity: Severity
) -> None:
    """Half a call an hour usual: 6 an hour is 12x (HIGH), 4 is 8x; not against one call."""
    finding = spike_finding(_flat_metrics(), Interval(20, 21, observed, 0.5, 9.0, 20))
    assert finding.severity is severity


def test_a_drop_against_nothing_expected_is_read_as_none_left() -> None:
    finding = drop_finding(_flat_metrics(), Interval(20, 22, 0.0, 0.0, 9.0, 20))
    assert "Calls fell to 0/h, 0% of the usual 0/h" in finding.message


def test_a_drop_reaching_the_end_of_four_weeks_is_ongoing() -> None:
    n = 28 * 24
    finding = drop_finding(_flat_metrics(n), Interval(n - 3, n, 0.0, 300.0, 9.0, n - 3))
    assert finding.severity is Severity.HIGH
    assert "and still at the end of the window" in finding.message


def test_the_median_before_a_burst_is_the_middle_hour() -> None:
    """Before the burst: 15 hours at 500 tokens per call, 14 at 100, and two at 5,000. The
    median is 500, so a burst at 800 has not moved (at 100 or 5,000 it would have)."""
    cost = [500.0] * 15 + [100.0] * 14 + [5000.0] * 2 + [500.0] * (N - 31)
    counts = _one_hour(31, 300.0)
    tokens = [c * p for c, p in zip(counts, cost, strict=True)]
    tokens[31] = 300.0 * 800.0
    burst = Interval(31, 32, 300.0, USUAL, 9.0, 31)
    assert not _tokens_moved(_metrics(counts, tokens, [0.0] * N), burst)


def test_a_burst_after_calls_without_tokens_has_no_usual_to_move_from() -> None:
    m = _burst_tokens(1000.0)
    tokens = [0.0] * N
    tokens[HOUR] = m.tokens[HOUR]
    assert not _tokens_moved(_metrics(list(m.calls), tokens, [0.0] * N), BURST)


def test_a_burst_that_is_every_call_fails_against_none_usual() -> None:
    calls = [0.0] * N
    calls[HOUR] = 300.0
    errors = [0.0] * N
    errors[HOUR] = 30.0
    assert _errors_moved(_metrics(calls, [0.0] * N, errors), BURST)


def test_one_other_call_that_failed_is_a_usual_of_all_failing() -> None:
    calls = [0.0] * N
    calls[HOUR], calls[5] = 300.0, 1.0
    errors = [0.0] * N
    errors[HOUR], errors[5] = 100.0, 1.0
    assert not _errors_moved(_metrics(calls, [0.0] * N, errors), BURST)


def test_no_hours_no_sustained_rise() -> None:
    empty = Baseline((), noise=0.1, pooled=1.0, mode="flat")
    assert sustained(_metrics([], [], []), empty, Sensitivity()) == []


def test_on_a_heavy_tailed_account_three_hours_past_the_ratio_are_a_spike() -> None:
    """Three night hours (20 calls usual) at 6x: past the spike ratio each, though not 20x, and
    too few calls for a sustained rise (100 over usual, under twice the average hour)."""
    expected = [USUAL] * 168
    expected[100:103] = [20.0] * 3
    calls = list(expected)
    calls[100:103] = [120.0] * 3
    base = Baseline(tuple(expected), noise=0.1, pooled=20.0, mode="flat", heavy_tailed=True)
    found = spikes(_metrics(calls, [0.0] * 168, [0.0] * 168), base, Sensitivity())
    assert [(iv.start, iv.end) for iv in found] == [(100, 103)]


def test_a_burst_inside_a_sustained_rise_is_no_lone_burst() -> None:
    """The afternoon at 2.5x, 2.5x and 4.5x: one hour past the spike ratio on a bursty account
    (a lone 3x hour at hour 20), but part of a sustained rise: an alarm, not information."""
    base = _afternoon()
    calls = list(base.expected)
    calls[20] = 150.0
    calls[100:103] = [500.0, 500.0, 900.0]
    m = _metrics(calls, [c * 500.0 for c in calls], [0.0] * 168)
    burst = Interval(100, 103, 1900.0, 600.0, 9.0, 102)
    assert not is_lone_burst(m, base, burst, Sensitivity())
    calls[100:102] = [200.0, 200.0]  # the same hour alone: a lone burst
    alone = Interval(102, 103, 900.0, 200.0, 9.0, 102)
    m = _metrics(calls, [c * 500.0 for c in calls], [0.0] * 168)
    assert is_lone_burst(m, base, alone, Sensitivity())


@pytest.mark.parametrize(
    ("hours", "usual", "times"),
    [(1, 4.0, 5.0), (2, 2.0, 5.0), (3, 1.5, 5.0), (4, 1.0, 5.0), (6, 1.0, 4.0)],
)
def test_each_spike_window_length_finds_the_runs_only_it_can(
    hours: int, usual: float, times: float
) -> None:
    """A quiet account (*usual* calls an hour, after a first day of 5,000 an hour that keeps
    the sustained rule out of it) with a run of *hours* at *times* usual between two hours
    without calls: no shorter window is surprising enough, and a longer one takes in an empty
    hour and falls under the ratio. Windows of 1, 2, 3, 4 and 6 hours are tried (no minimum
    excess here); each run is found by its own length."""
    at = 100
    expected = [5000.0] * 24 + [usual] * 144
    calls = list(expected)
    calls[at - 1] = calls[at + hours] = 0.0
    calls[at : at + hours] = [usual * times] * hours
    base = Baseline(tuple(expected), noise=0.1, pooled=100.0, mode="flat")
    found = spikes(
        _metrics(calls, [0.0] * 168, [0.0] * 168), base, Sensitivity(spike_min_excess=0.0)
    )
    assert [(iv.start, iv.end) for iv in found] == [(at, at + hours)]


@pytest.mark.parametrize(("hours", "usual", "times"), [(3, 2.0, 5.0), (4, 3.0, 3.0), (6, 2.0, 3.0)])
def test_each_sustained_window_length_finds_the_rises_only_it_can(
    hours: int, usual: float, times: float
) -> None:
    """A quiet account with a rise of *hours* at *times* usual between two hours without calls:
    no shorter window is surprising enough, and a longer one takes in an empty hour and adds
    under twice the average hour. Windows of 3, 4 and 6 hours are tried (no minimum excess of
    the spike rule here); the rises of 4 and 6 hours are found by their own length."""
    at = 100
    calls = [usual] * 168
    calls[at - 1] = calls[at + hours] = 0.0
    calls[at : at + hours] = [usual * times] * hours
    base = Baseline((usual,) * 168, noise=0.1, pooled=100.0, mode="flat")
    m = _metrics(calls, [0.0] * 168, [0.0] * 168)
    found = sustained(m, base, Sensitivity(spike_min_excess=0.0))
    assert [(iv.start, iv.end) for iv in found] == [(at, at + hours)]


@pytest.mark.parametrize(
    ("before", "per_call", "moved"),
    [(500.5, 1001.0, True), (500.5, 1000.9, False), (500.75, 1001.5, True)],
)
def test_a_bursts_tokens_per_call_are_compared_unrounded(
    before: float, per_call: float, moved: bool
) -> None:
    """Hours before at *before* tokens per call: a burst at twice that moved, just under not."""
    assert _history(HOUR, [before] * N, per_call) is moved


@pytest.mark.parametrize(("failed", "moved"), [(30.0, True), (29.0, False)])
def test_a_burst_that_is_every_call_needs_ten_percent_failing(failed: float, moved: bool) -> None:
    calls = [0.0] * N
    calls[HOUR] = 300.0
    errors = [0.0] * N
    errors[HOUR] = failed
    assert _errors_moved(_metrics(calls, [0.0] * N, errors), BURST) is moved


@pytest.mark.parametrize(("calls", "found"), [(160.8, True), (160.5, False)])
def test_a_sustained_rise_adds_twice_the_average_hour_unrounded(calls: float, found: bool) -> None:
    """The afternoon's average hour is 55.36 calls: three hours of 50 usual must add 110.71
    each (160.8 calls does, 160.5 does not)."""
    base = _afternoon()
    counts = list(base.expected)
    counts[60:63] = [calls] * 3
    runs = sustained(_metrics(counts, [0.0] * 168, [0.0] * 168), base, Sensitivity())
    assert [(iv.start, iv.end) for iv in runs] == ([(60, 63)] if found else [])


def test_a_usual_under_one_token_per_call_is_still_a_usual() -> None:
    assert _history(HOUR, [0.5] * N, 1.0)


def test_three_hours_past_the_ratio_are_never_a_lone_burst() -> None:
    """The three night hours at 6x on a heavy-tailed account (so bursty), no sustained rise,
    tokens and failures as usual: more than one hour past the ratio, so an alarm."""
    expected = [USUAL] * 168
    expected[100:103] = [20.0] * 3
    calls = list(expected)
    calls[100:103] = [120.0] * 3
    base = Baseline(tuple(expected), noise=0.1, pooled=20.0, mode="flat", heavy_tailed=True)
    m = _metrics(calls, [c * 500.0 for c in calls], [0.0] * 168)
    assert not is_lone_burst(m, base, Interval(100, 103, 360.0, 60.0, 9.0, 100), Sensitivity())


def test_a_drops_figures_are_per_hour_of_its_span() -> None:
    finding = drop_finding(_flat_metrics(), Interval(2, 5, 30.0, 300.0, 9.0, 2))
    assert (finding.observed, finding.expected) == (10.0, 100.0)
    assert "Calls fell to 10/h, 10% of the usual 100/h" in finding.message


def test_a_spike_of_ten_times_usual_in_floating_point_is_high() -> None:
    """One call an hour against 0.1 usual is 10x (1 / 0.1 == 10.0, though 1 // 0.1 == 9.0)."""
    finding = spike_finding(_flat_metrics(), Interval(20, 21, 1.0, 0.1, 9.0, 20))
    assert finding.severity is Severity.HIGH
