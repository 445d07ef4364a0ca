"""Print the input_series of blueprints/rules/tests/http-red.test.yml (paste them in after a change).

Run: python tests/unit/content/http_red_series.py
"""
# ruff: noqa: E501  (the long strings are the test file's comments, verbatim)
END = 10260        # 7d 3h, in minutes
INCIDENT = 10140   # 7d 1h: the last two hours differ from the week before

def counter(segments):
    """segments: [(samples, step per minute)] -> expanding notation of a counter starting at 0."""
    parts, value, first = [], 0, True
    for samples, step in segments:
        start = value if first else value + step
        parts.append(f"{start}+{step}x{samples - 1}")
        value = start + step * (samples - 1)
        first = False
    assert sum(s for s, _ in segments) == END + 1, segments
    return " ".join(parts)

def normal_then(normal, incident):
    return counter([(INCIDENT + 1, normal), (END - INCIDENT, incident)])

BUCKETS = ["0.1", "0.25", "0.5", "1", "2.5", "+Inf"]
out = []
def series(name, labels, values, comment=None):
    if comment:
        out.append(f"      # {comment}")
    out.append(f"      - series: '{name}{{{labels}}}'")
    out.append(f"        values: '{values}'")

def buckets(job, normal_le, incident_le, per_minute=600):
    for le in BUCKETS:
        n = per_minute if float(le) >= float(normal_le) else 0
        i = per_minute if float(le) >= float(incident_le) else 0
        series("http_request_duration_seconds_bucket", f'job="{job}", le="{le}"', normal_then(n, i))

series("http_requests_total", 'job="steady", code="200"', normal_then(594, 540),
       "steady: 10 req/s, 1% errors all week, then 10%; answers in under 100 ms")
series("http_requests_total", 'job="steady", code="500"', normal_then(6, 60))
buckets("steady", "0.1", "0.1")

days = [(1440, 12 if d % 2 == 0 else 24) for d in range(7)]
tail = [(INCIDENT + 1 - 7 * 1440, 12), (END - INCIDENT, 33)]
series("http_requests_total", 'job="noisy", code="500"', counter(days + tail),
       "noisy: 10 req/s, errors 2% and 4% on alternate days, then 5.5%: above the static 5%, not unusual for it")
series("http_requests_total", 'job="noisy", code="200"', counter([(n, 600 - s) for n, s in days + tail]))

series("http_requests_total", 'job="quiet", code="200"', normal_then(3, 1),
       "quiet: 0.05 req/s, then two requests in three fail: below min_request_rate, so nobody is paged")
series("http_requests_total", 'job="quiet", code="500"', normal_then(0, 2))

series("http_requests_total", 'job="slow", code="200"', normal_then(600, 600),
       "slow: under 100 ms all week, then between 1 s and 2.5 s")
buckets("slow", "0.1", "2.5")
series("http_requests_total", 'job="quick", code="200"', normal_then(600, 600),
       "quick: under 100 ms all week, then between 100 and 250 ms: far above its baseline, below latency_floor_seconds")
buckets("quick", "0.1", "0.25")

series("http_requests_total", 'job="dropping", code="200"', normal_then(600, 120), "dropping: 10 req/s, then 2")
series("http_requests_total", 'job="surging", code="200"', normal_then(600, 1800), "surging: 10 req/s, then 30")

segments, minute, busy = [(60, 300)], 60, True
while minute <= END:
    length = min(720, END + 1 - minute)
    segments.append((length, 1200 if busy else 300))
    minute += length
    busy = not busy
series("http_requests_total", 'job="daily", code="200"', counter(segments),
       "daily: 20 req/s from 01:00 to 13:00, 5 req/s otherwise: a fourfold swing every day is normal for it")
print("\n".join(out))
