#!/usr/bin/env python3
"""report.py: the benchmark's table, from bench.sh's samples.

    report.py SAMPLES.tsv META.txt PREFIX

SAMPLES.tsv has one measured run per line (case, system, unit, value);
META.txt has key=value lines describing the machine and the run (`note` may
repeat). Prints one table (median (min-max) per system, irpafs's speed
relative to each other system, and in two last columns irpafs's speed over
the plain file's and over the best FUSE peer's) and writes it to PREFIX.txt,
a Markdown copy to PREFIX.md and the summary as PREFIX.tsv. A system with no
sample (irpafs-prefetch when irpafs lacks -o prefetch) has no column.
"""
import statistics
import sys

SYSTEMS = ["irpafs", "irpafs-prefetch", "plain", "passthrough_ll", "squashfuse_ll", "bindfs",
           "irpafs-local", "curl", "aria2c", "rclone", "httpfs2"]
FUSE_PEERS = ["passthrough_ll", "squashfuse_ll", "bindfs"]
# Column headings where they differ from the system's name in the samples.
LABELS = {"irpafs-prefetch": "irpafs prefetch=64M", "aria2c": "aria2c -x 8",
          "irpafs-local": "irpafs local source"}

# case id -> what the row measures
CASES = [
    ("1-seq-default", "1 dd bs=1M, FUSE cache empty, mount's readahead"),
    ("1-seq-512", "1 dd bs=1M, FUSE cache empty, readahead 512 KiB"),
    ("2-reread", "2 re-read, FUSE page cache hit"),
    ("2-reread-contiguous", "2 re-read: pages in consecutive frames"),
    ("2-cold", "2 cold read, after drop_caches"),
    ("3-rand-4k-1", "3 fio random 4 KiB preads, 1 thread"),
    ("3-rand-4k-8", "3 fio random 4 KiB preads, 8 threads"),
    ("3-rand-1m-1", "3 fio random 1 MiB preads, 1 thread"),
    ("3-rand-1m-8", "3 fio random 1 MiB preads, 8 threads"),
    ("4-iree-mmap", "4 IREE mmap mode: map, copy each entry out"),
    ("4-iree-file", "4 IREE file mode: index, pread each entry"),
    ("5-materialize", "5 irpa build vs cp of the source, +fsync"),
    ("5-cp-out", "5 cp out of the mount (plain: of the file)"),
    ("6-mount-1000", "6 load + mount to first byte, 1k entries"),
    ("6-mount-10000", "6 load + mount to first byte, 10k entries"),
    ("6-mount-100000", "6 load + mount to first byte, 100k entries"),
    ("6-rss-1000", "6 server peak RSS, 1k entries mounted"),
    ("6-rss-10000", "6 server peak RSS, 10k entries mounted"),
    ("6-rss-100000", "6 server peak RSS, 100k entries mounted"),
    ("6-rss-idle", "6 server RSS, archive mounted, idle"),
    ("6-rss-peak", "6 server peak RSS after cases 1-5"),
    ("6-rss-after", "6 server RSS after cases 1-5"),
    ("7-cache-dd", "7 cold dd: page cache, sources + mount"),
    ("7-cache-dd-sources", "7 cold dd: page cache, sources only"),
    ("7-cache-dd-one_copy0", "7 cold dd, one_copy=0: sources + mount"),
    ("7-cache-dd-one_copy0-sources", "7 cold dd, one_copy=0: sources only"),
    ("7-cache-dd-one_copy1", "7 cold dd, one_copy=1: sources + mount"),
    ("7-cache-dd-one_copy1-sources", "7 cold dd, one_copy=1: sources only"),
    ("7-cache-iree", "7 cold IREE mmap load: page cache, sources + mount"),
    ("7-cache-iree-sources", "7 cold IREE mmap load: page cache, sources only"),
    ("7-cache-iree-one_copy0", "7 cold IREE mmap load, one_copy=0: sources + mount"),
    ("7-cache-iree-one_copy0-sources", "7 cold IREE mmap load, one_copy=0: sources only"),
    ("7-cache-iree-one_copy1", "7 cold IREE mmap load, one_copy=1: sources + mount"),
    ("7-cache-iree-one_copy1-sources", "7 cold IREE mmap load, one_copy=1: sources only"),
    ("8-net-first", "8 first read from nginx on loopback (irpafs: URL source)"),
    ("8-net-cache", "8 read served from -o cache_dir (irpafs) vs a local source"),
    ("8-net-mount-100000", "8 load + mount to first byte, 100k URL ranges"),
]
# Units of rows that are amounts, not speeds: no ratios.
AMOUNT_UNITS = ("MiB", "%", "x archive")


def read_samples(path):
    values, units = {}, {}
    with open(path) as lines:
        next(lines)
        for line in lines:
            case, system, unit, value = line.rstrip("\n").split("\t")
            if value == "":
                continue
            values.setdefault((case, system), []).append(float(value))
            units[case] = unit
    return values, units


def read_meta(path):
    """The key=value lines as a dict; the `note` lines as a list under "notes"."""
    meta = {"notes": []}
    with open(path) as lines:
        for line in lines:
            key, _, value = line.rstrip("\n").partition("=")
            if key == "note":
                meta["notes"].append(value)
            else:
                meta[key] = value
    return meta


def number(value, unit):
    if unit == "MB/s":
        return "%.0f" % value
    if unit in ("MiB", "%"):
        return "%.1f" % value
    if unit == "x archive":
        return "%.2f" % value
    return "%.0f" % value if value >= 100 else "%.1f" % value if value >= 10 else "%.2f" % value


def speed_ratio(irpafs, other, unit):
    """irpafs's speed over the other's: > 1 means irpafs is faster."""
    if unit in AMOUNT_UNITS or not irpafs or not other:
        return None
    return irpafs / other if unit == "MB/s" else other / irpafs


def summarize(values, units, planned_runs):
    """Rows of the table; a row measured more or less often than `planned_runs`
    says so (not the one-off measurements)."""
    rows = []
    for case, description in CASES:
        if case not in units:
            continue
        unit = units[case]
        stats = {}
        for system in SYSTEMS:
            runs = values.get((case, system))
            if runs:
                stats[system] = (statistics.median(runs), min(runs), max(runs), len(runs))
        counts = {count for _, _, _, count in stats.values()}
        if planned_runs and counts and max(counts) > 1 and counts != {planned_runs}:
            description += " (%s runs)" % "/".join(str(c) for c in sorted(counts))
        irpafs = stats.get("irpafs", (None,))[0]
        ratios = {s: speed_ratio(irpafs, stats[s][0], unit) for s in stats if s != "irpafs"}
        peers = [s for s in FUSE_PEERS if ratios.get(s) is not None]
        best = min(peers, key=lambda s: ratios[s]) if peers else None
        rows.append((case, description, unit, stats, ratios, best))
    return rows


def cell(stats, system, unit, ratios=None):
    if system not in stats:
        return ""
    median, low, high, _ = stats[system]
    text = "%s (%s-%s)" % (number(median, unit), number(low, unit), number(high, unit))
    if ratios and ratios.get(system) is not None:
        text += " %.2fx" % ratios[system]
    return text


def columns(rows):
    """The systems with at least one sample, in SYSTEMS's order."""
    return [s for s in SYSTEMS if any(s in stats for _, _, _, stats, _, _ in rows)]


def plain_ratio(ratios):
    return ratios.get("plain")


def text_table(rows):
    systems = columns(rows)
    header = ["case", "unit"] + [LABELS.get(s, s) for s in systems]
    header += ["irpafs/plain", "irpafs/best FUSE"]
    table = [header]
    for case, description, unit, stats, ratios, best in rows:
        line = [description, unit]
        line += [cell(stats, s, unit, None if s == "irpafs" else ratios) for s in systems]
        plain = plain_ratio(ratios)
        line.append("%.2fx" % plain if plain is not None else "")
        line.append("%.2fx %s" % (ratios[best], best) if best else "")
        table.append(line)
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip()
                     for line in table)


def markdown_table(rows):
    systems = columns(rows)
    out = ["| case | unit | " + " | ".join(LABELS.get(s, s) for s in systems) +
           " | irpafs / plain | irpafs / best FUSE peer |",
           "|" + "---|" * (len(systems) + 4)]
    for case, description, unit, stats, ratios, best in rows:
        cells = []
        for system in systems:
            text = cell(stats, system, unit)
            if ratios.get(system) is not None:
                text += " **%.2f×**" % ratios[system]
            cells.append(text)
        plain = plain_ratio(ratios)
        plain_text = "**%.2f×**" % plain if plain is not None else ""
        best_text = "**%.2f×** %s" % (ratios[best], best) if best else ""
        out.append("| %s | %s | %s | %s | %s |" % (description, unit,
                                                    " | ".join(cells), plain_text, best_text))
    return "\n".join(out)


def describe(meta):
    keys = ["date", "commit", "cpu", "nproc", "memory", "kernel", "libfuse", "filesystem",
            "versions", "archive", "runs", "loadavg_start", "loadavg", "seconds", "standin"]
    lines = ["%s: %s" % (k, meta[k]) for k in keys if k in meta]
    lines += ["note: " + note for note in meta.get("notes", [])]
    readahead = ", ".join("%s %s KiB" % (k.split(".", 1)[1], v)
                          for k, v in meta.items() if k.startswith("readahead_kb."))
    mounts = ", ".join("%s %s ms" % (k.split(".", 1)[1], v)
                       for k, v in meta.items() if k.startswith("mount_ms."))
    if readahead:
        lines.append("mount readahead (default): " + readahead)
    if mounts:
        lines.append("mount until first byte readable: " + mounts)
    return lines


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: report.py SAMPLES.tsv META.txt PREFIX")
    values, units = read_samples(sys.argv[1])
    meta = read_meta(sys.argv[2])
    prefix = sys.argv[3]
    runs = int(meta["runs"]) if meta.get("runs", "").isdigit() else None
    rows = summarize(values, units, runs)
    legend = ("median (min-max) of %s interleaved runs; Nx = irpafs's speed / that system's "
              "(> 1: irpafs faster; for ms rows the inverse of the time ratio); "
              "irpafs prefetch=64M: irpafs -o prefetch=64M, its Nx the default (off) over prefetch; "
              "x archive: page cache bytes over the archive's bytes"
              % meta.get("runs", "?"))
    text = "\n".join(describe(meta) + ["", legend, "", text_table(rows)])
    print(text)
    with open(prefix + ".txt", "w") as out:
        out.write(text + "\n")
    with open(prefix + ".md", "w") as out:
        out.write(markdown_table(rows) + "\n\n" + legend + "\n\n" +
                  "\n".join("- " + line for line in describe(meta)) + "\n")
    with open(prefix + ".tsv", "w") as out:
        out.write("case\tdescription\tunit\tsystem\truns\tmedian\tmin\tmax\tirpafs_speed_ratio\n")
        for case, description, unit, stats, ratios, _ in rows:
            for system, (median, low, high, count) in stats.items():
                ratio = ratios.get(system)
                out.write("%s\t%s\t%s\t%s\t%d\t%g\t%g\t%g\t%s\n" % (
                    case, description, unit, system, count, median, low, high,
                    "" if ratio is None else "%.3f" % ratio))


if __name__ == "__main__":
    main()
