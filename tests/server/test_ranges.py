"""Range parsing (wasmlm/ranges.py), then the same table over the wire against the real server."""
import pytest

from wasmlm.ranges import ByteRange, Unsatisfiable, range_parse

SIZE = 1000
WHOLE = None
UNSAT = "416"

# (Range header, expected): a ByteRange (206), WHOLE (200, header ignored) or UNSAT (416)
CASES = [
    (None, WHOLE),
    ("bytes=0-0", ByteRange(0, 0)),
    ("bytes=0-9", ByteRange(0, 9)),
    ("bytes=10-19", ByteRange(10, 19)),
    ("bytes=990-999", ByteRange(990, 999)),
    ("bytes=990-5000", ByteRange(990, 999)),      # end clipped to the last byte
    ("bytes=500-", ByteRange(500, 999)),
    ("bytes=0-", ByteRange(0, 999)),
    ("bytes=999-", ByteRange(999, 999)),
    ("bytes=-1", ByteRange(999, 999)),
    ("bytes=-100", ByteRange(900, 999)),
    ("bytes=-5000", ByteRange(0, 999)),           # suffix longer than the file: all of it
    ("bytes = 5 - 9 ", ByteRange(5, 9)),          # optional whitespace
    ("BYTES=5-9", ByteRange(5, 9)),               # the unit is case-insensitive
    ("bytes=1000-", UNSAT),
    ("bytes=1000-1001", UNSAT),
    ("bytes=5000-6000", UNSAT),
    ("bytes=-0", UNSAT),
    ("bytes=9-5", WHOLE),                         # end before start: invalid, ignored
    ("bytes=0-9,20-29", WHOLE),                   # several ranges: whole body, as documented
    ("bytes=0-9, 5-15", WHOLE),
    ("bytes=-", WHOLE),
    ("bytes=", WHOLE),
    ("bytes=a-b", WHOLE),
    ("bytes=1-2-3", WHOLE),
    ("bytes=+1-2", WHOLE),
    ("bytes=0x10-20", WHOLE),
    ("bytes=1.5-2", WHOLE),
    ("bytes 0-9", WHOLE),                         # no '='
    ("items=0-9", WHOLE),                         # another unit
    ("=0-9", WHOLE),
    ("", WHOLE),
    ("bytes=١-٢", WHOLE),                         # non-ASCII digits are not digits here
]


@pytest.mark.parametrize("header,expected", CASES)
def test_range_parse(header, expected):
    if expected == UNSAT:
        with pytest.raises(Unsatisfiable):
            range_parse(header, SIZE)
    else:
        assert range_parse(header, SIZE) == expected


@pytest.mark.parametrize("header", ["bytes=0-", "bytes=0-0", "bytes=-0"])
def test_empty_representation_has_no_satisfiable_range(header):
    with pytest.raises(Unsatisfiable):
        range_parse(header, 0)


def test_suffix_of_empty_representation_is_the_whole_body():
    # RFC 9110 14.1.3: the one satisfiable form for zero bytes, and no 206 can describe it
    assert range_parse("bytes=-1", 0) is None


# Over the wire, on a real shard of n bytes: (Range header with {n}/{last}, status, body slice or None)
WIRE = [
    (None, 200, lambda n: (0, n)),
    ("bytes=0-9", 206, lambda n: (0, 10)),
    ("bytes=10-", 206, lambda n: (10, n)),
    ("bytes=-10", 206, lambda n: (n - 10, n)),
    ("bytes={last}-{last}", 206, lambda n: (n - 1, n)),
    ("bytes=5-{n}000", 206, lambda n: (5, n)),
    ("bytes={n}-", 416, None),
    ("bytes=-0", 416, None),
    ("bytes=0-9,20-29", 200, lambda n: (0, n)),
    ("bytes=9-5", 200, lambda n: (0, n)),
    ("bytes=x-y", 200, lambda n: (0, n)),
    ("pages=0-9", 200, lambda n: (0, n)),
]


@pytest.fixture(scope="module")
def shard(chunks):
    model = "smollm2-135m-instruct-q4_1"
    return f"/chunks/{model}/001.bin", (chunks / model / "001.bin").read_bytes()


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("header,status,span", WIRE)
def test_range_over_http(http, shard, method, header, status, span):
    url, data = shard
    n = len(data)
    headers = {} if header is None else {"Range": header.format(n=n, last=n - 1)}
    r = http.request(method, url, headers=headers)
    assert r.status_code == status
    assert r.headers["accept-ranges"] == "bytes"
    assert "content-encoding" not in r.headers
    if status == 416:
        assert r.headers["content-range"] == f"bytes */{n}"
        return
    start, stop = span(n)
    assert int(r.headers["content-length"]) == stop - start
    if status == 206:
        assert r.headers["content-range"] == f"bytes {start}-{stop - 1}/{n}"
    else:
        assert "content-range" not in r.headers
    assert r.content == (b"" if method == "HEAD" else data[start:stop])
