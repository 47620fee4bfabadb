"""Range parsing (wasmlm/ranges.py) against a model of RFC 9110 section 14, with Hypothesis.

Headers are built from parts (unit, specs, whitespace, numbers up to 10^30) and the model decides from
the parts, not from the text, what the answer must be: the documented choices (several ranges and
anything malformed -> the whole body) on top of the RFC's rules for one range. Then: no text at all
makes the parser fail other than with Unsatisfiable, and over the wire the bytes are the file's.
"""
import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from wasmlm.ranges import ByteRange, Unsatisfiable, range_parse

WHOLE, UNSAT = "whole", "416"
OWS = st.sampled_from(["", " ", "\t", "  "])
# (value, text): decimal digits as the RFC means them (DIGIT is ASCII), with leading zeros now and then,
# and 5000 nines: more digits than Python's int() takes from a string (a 500 found by test_hostile.py).
NUMBER = st.one_of(
    st.one_of(st.integers(0, 2000), st.integers(0, 10**30)).flatmap(
        lambda n: st.sampled_from([str(n), "0" + str(n), "000" + str(n)]).map(lambda s, n=n: (n, s))),
    st.just((10**5000 - 1, "9" * 5000)))


@st.composite
def range_spec(draw):
    """(text, kind, first, last): kind is 'int' (first-[last]), 'suffix' (-n) or 'bad'."""
    kind = draw(st.sampled_from(["int", "int", "suffix", "bad"]))
    a, b = draw(OWS), draw(OWS)
    if kind == "int":
        first, first_s = draw(NUMBER)
        last = draw(st.none() | NUMBER)
        text = f"{a}{first_s}{b}-{draw(OWS)}{'' if last is None else last[1]}{draw(OWS)}"
        return text, kind, first, None if last is None else last[0]
    if kind == "suffix":
        n, n_s = draw(NUMBER)
        return f"{a}-{b}{n_s}{draw(OWS)}", kind, None, n
    # Always malformed: a sign, a letter, a dot or a second dash somewhere a number should be.
    junk = draw(st.sampled_from(["+1-2", "1-2-3", "1.5-2", "0x1-2", "a-b", "-", "", "1--2", "١-٢", "1_0-2"]))
    return junk, kind, None, None


@st.composite
def range_header(draw, size=None):
    """(header, size, expected): expected is WHOLE, UNSAT or (start, end); size is drawn unless given."""
    if size is None:
        size = draw(st.one_of(st.just(0), st.just(1), st.integers(0, 5000), st.integers(0, 2**53)))
    unit = draw(st.sampled_from(["bytes", "BYTES", "Bytes", "items", "byte", "", "bytes "]))
    sep = draw(st.sampled_from(["=", "=", "=", ":", ""]))
    specs = draw(st.lists(range_spec(), min_size=1, max_size=3))
    header = f"{unit}{sep}" + ",".join(s[0] for s in specs)
    expected = range_model(unit, sep, specs, size)
    return header, size, expected


def range_model(unit: str, sep: str, specs: list, size: int):
    """What the server must answer, decided from the parts of the header."""
    if sep != "=" or unit.strip().lower() != "bytes" or len(specs) != 1:
        return WHOLE  # another unit (RFC: MUST ignore), no '=', or several ranges (documented: ignored)
    _, kind, first, last = specs[0]
    if kind == "bad":
        return WHOLE  # RFC: a server MAY ignore a Range it cannot parse
    if kind == "suffix":
        if last == 0:
            return UNSAT  # 14.1.3: a suffix-range is satisfiable only if suffix-length is non-zero
        if size == 0:
            return WHOLE  # satisfiable, but no 206 can describe zero bytes: the (empty) whole body
        return (max(0, size - last), size - 1)
    if last is not None and last < first:
        return WHOLE  # 14.1.1: invalid when last-pos < first-pos
    if first >= size:
        return UNSAT  # 14.1.3: an int-range is satisfiable only if first-pos < length
    return (first, size - 1 if last is None else min(last, size - 1))


@given(range_header())
@settings(max_examples=500, deadline=None)
def test_range_parse_follows_the_model(case):
    header, size, expected = case
    if expected == UNSAT:
        with pytest.raises(Unsatisfiable):
            range_parse(header, size)
        return
    got = range_parse(header, size)
    assert got == (None if expected == WHOLE else ByteRange(*expected)), header


@given(st.one_of(st.text(max_size=60), st.from_regex(r"\A[bB][yY][tT][eE][sS]=[0-9 ,\-]{0,30}\Z")),
       st.integers(0, 2**63))
@settings(max_examples=500, deadline=None)
def test_any_header_gives_a_range_inside_the_body_or_416(header, size):
    try:
        got = range_parse(header, size)
    except Unsatisfiable:
        return
    if got is not None:
        assert 0 <= got.start <= got.end < size
        assert got.length >= 1
        assert got.content_range(size) == f"bytes {got.start}-{got.end}/{size}"


class Shard:
    """A real shard: its URL and bytes (with a short repr, for Hypothesis' failure reports)."""

    def __init__(self, url: str, body: bytes):
        self.url, self.body = url, body

    def __repr__(self) -> str:
        return f"Shard({self.url}, {len(self.body)} bytes)"


@pytest.fixture(scope="module")
def shard(chunks):
    model = "smollm2-135m-instruct-q4_1"
    return Shard(f"/chunks/{model}/001.bin", (chunks / model / "001.bin").read_bytes())


@given(st.data())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_range_over_http_follows_the_model(http, shard, data):
    """The model's answer for the real shard, over the wire: status, Content-Range and the bytes."""
    url, body = shard.url, shard.body
    header, _, expected = data.draw(range_header(size=len(body)))
    # HTTP trims a field value's surrounding whitespace (and clients refuse to send it): so does this.
    r = http.get(url, headers={"Range": header.strip(" \t").encode()})
    if expected == UNSAT:
        assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{len(body)}"
    elif expected == WHOLE:
        assert r.status_code == 200 and r.content == body
    else:
        start, end = expected
        assert r.status_code == 206, header
        assert r.headers["content-range"] == f"bytes {start}-{end}/{len(body)}"
        assert r.content == body[start:end + 1]
