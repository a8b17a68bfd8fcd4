#!/usr/bin/env bash
# Compare emostream's throughput with the `fer` library's on the same clips, both pinned to one core.
#
# Usage: bench/compare.sh [FILE ...]
#
#   FILE ...          clips to run (default: every *.gif in $EMOSTREAM_SHARED/media)
#   CORE=0            CPU core both runs are pinned to (taskset -c)
#   OUT=bench/last.json   where the combined JSON is written
#   EMOSTREAM_SHARED=../shared   shared data folder (relative paths are from the repo root)
#   EMOSTREAM=.venv/bin/emostream   the emostream command
#   REPEAT=N          if set, passed as --repeat N to both sides
#   ROUNDS=N          run the three one after another N times (default 1) and report each round's
#                     ratios and their medians: on a shared VM the machine's speed drifts over minutes,
#                     so one round's ratio can be a third off; the JSON keeps the median round's runs
#
# The fer side runs bench/fer_peer.py in .venv-fer, created on first use (and refreshed whenever
# bench/requirements-fer.txt changes) with `pip install --no-deps -r bench/requirements-fer.txt`.
# emostream's figure includes decoding the clips; fer's does not (frames are decoded up front).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cd "$root"

core="${CORE:-0}"
out="${OUT:-bench/last.json}"
shared="${EMOSTREAM_SHARED:-../shared}"
emostream="${EMOSTREAM:-.venv/bin/emostream}"
venv=".venv-fer"
reqs="bench/requirements-fer.txt"
stamp="$venv/bench-requirements.txt"

die() { echo "compare.sh: $*" >&2; exit 1; }
# fail NAME STATUS FILE: show the tail of a failed run's stdout, then stop.
fail() { tail -n 20 "$3" >&2 || true; die "$1 failed (exit $2)"; }

if (($#)); then
    sources=("$@")
else
    shopt -s nullglob
    sources=("$shared"/media/*.gif)
    shopt -u nullglob
    ((${#sources[@]})) || die "no *.gif in $shared/media (set EMOSTREAM_SHARED or pass files)"
fi
for f in "${sources[@]}"; do [[ -r "$f" ]] || die "cannot read $f"; done

command -v taskset >/dev/null || die "taskset not found (util-linux)"
[[ -x "$emostream" ]] || die "$emostream not found; install emostream into .venv first (pip install -e .)"

# --- the fer venv ---------------------------------------------------------------------------------
if [[ ! -x "$venv/bin/python" ]]; then
    echo "compare.sh: creating $venv" >&2
    python3.11 -m venv "$venv"
fi
if ! cmp -s "$reqs" "$stamp"; then
    echo "compare.sh: installing $reqs into $venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$reqs"
    cp "$reqs" "$stamp"
fi

repeat_args=()
[[ -n "${REPEAT:-}" ]] && repeat_args=(--repeat "$REPEAT")

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# --- the runs, one after the other on the same core, ROUNDS times -----------------------------------
rounds="${ROUNDS:-1}"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, not '$rounds'"
for ((r = 1; r <= rounds; r++)); do
    echo "compare.sh: round $r/$rounds: emostream on core $core, ${#sources[@]} source(s)" >&2
    taskset -c "$core" "$emostream" bench --json "${repeat_args[@]}" --source "${sources[@]}" \
        >"$tmp/emostream.$r.out" || fail "emostream bench" $? "$tmp/emostream.$r.out"
    echo "compare.sh: round $r/$rounds: emostream --strict (every face of every frame classified)" >&2
    taskset -c "$core" "$emostream" bench --json --strict "${repeat_args[@]}" --source "${sources[@]}" \
        >"$tmp/strict.$r.out" || fail "emostream bench --strict" $? "$tmp/strict.$r.out"
    echo "compare.sh: round $r/$rounds: fer on core $core" >&2
    taskset -c "$core" "$venv/bin/python" bench/fer_peer.py "${repeat_args[@]}" --source "${sources[@]}" \
        >"$tmp/fer.$r.out" || fail "fer_peer.py" $? "$tmp/fer.$r.out"
done

# --- combine, tabulate, write ----------------------------------------------------------------------
mkdir -p "$(dirname "$out")"
python3 - "$tmp" "$rounds" "$out" "$core" "${sources[@]}" <<'PY'
import json
import statistics
import sys
from datetime import datetime, timezone


def last_json(path):
    lines = [ln for ln in open(path, encoding="utf-8").read().splitlines() if ln.strip()]
    if not lines:
        sys.exit(f"compare.sh: {path} printed nothing")
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError as exc:
        sys.exit(f"compare.sh: last line of {path} is not JSON: {exc}")


tmp, n_rounds, out, core, *sources = sys.argv[1:]
runs = []
for r in range(1, int(n_rounds) + 1):
    emo, strict, fer = (last_json(f"{tmp}/{name}.{r}.out") for name in ("emostream", "strict", "fer"))
    for name, res in (("emostream", emo), ("strict", strict), ("fer", fer)):
        if not isinstance(res.get("fps"), (int, float)) or "faces" not in res:
            sys.exit(f"compare.sh: {name} result lacks fps/faces: {res}")
    ratio = emo["fps"] / fer["fps"] if fer["fps"] else None
    strict_ratio = strict["fps"] / fer["fps"] if fer["fps"] else None
    runs.append((ratio or 0.0, strict_ratio or 0.0, emo, strict, fer))
rounds = [
    {"fps": {"emostream": e["fps"], "strict": s["fps"], "fer": f["fps"]}, "ratio": round(a, 3), "strict_ratio": round(b, 3)}
    for a, b, e, s, f in runs
]
ratio_median = statistics.median(r[0] for r in runs)
strict_median = statistics.median(r[1] for r in runs)
ratio, strict_ratio, emo, strict, fer = sorted(runs, key=lambda r: r[0])[(len(runs) - 1) // 2]
combined = {
    "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    "core": int(core),
    "sources": sources,
    "emostream": emo,
    "emostream_strict": strict,
    "fer": fer,
    "fps_ratio_emostream_over_fer": round(ratio, 3) if ratio is not None else None,
    "fps_ratio_strict_over_fer": round(strict_ratio, 3) if strict_ratio is not None else None,
    "rounds": rounds,
    "fps_ratio_median": round(ratio_median, 3),
    "fps_ratio_strict_median": round(strict_median, 3),
    "note": "emostream's seconds include decoding the clips; fer's exclude it (decoded up front)",
}
with open(out, "w", encoding="utf-8") as fh:
    json.dump(combined, fh, indent=2)
    fh.write("\n")


def cell(res, key, fmt="{}"):
    val = res.get(key)
    return "-" if val is None else fmt.format(val)


print(f"{'':10} {'version':>10} {'frames':>7} {'faces':>6} {'fps':>9} {'ms/frame':>9}  decode")
for name, res, decode in (("emostream", emo, "timed"), ("strict", strict, "timed"), ("fer", fer, "untimed")):
    ms = res.get("ms_per_frame")
    if ms is None and res.get("fps"):
        ms = 1000.0 / res["fps"]
    print(
        f"{name:10} {cell(res, 'version'):>10} {cell(res, 'frames'):>7} {cell(res, 'faces'):>6}"
        f" {res['fps']:>9.1f} {'-' if ms is None else f'{ms:.2f}':>9}  {decode}"
    )
print(f"emostream fps / fer fps = {'-' if ratio is None else f'{ratio:.2f}'}")
print(f"strict fps / fer fps = {'-' if strict_ratio is None else f'{strict_ratio:.2f}'}")
if len(rounds) > 1:
    for i, r in enumerate(rounds, 1):
        f = r["fps"]
        print(f"round {i}: {f['emostream']:.1f} / {f['strict']:.1f} / {f['fer']:.1f} frames/s,"
              f" {r['ratio']:.2f}x, strict {r['strict_ratio']:.2f}x")
    print(f"median of {len(rounds)} rounds: {ratio_median:.2f}x, strict {strict_median:.2f}x (table: the median round)")
print(f"faces: emostream {emo['faces']}, fer {fer['faces']}")
print(f"wrote {out}")
PY
