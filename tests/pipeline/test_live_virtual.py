"""Virtual channels from the config (``[channels.virtual]``), live and offline: a live run's
virtual tags are those the definitions make of its recorded tags, measurements take them as
inputs and equal the offline pass; ``analyze --config`` adds them to a plain file."""

from __future__ import annotations

import numpy as np

import tagstream as ts
from tagstream.cli import main
from tagstream.pipeline.consistency import compare_with_offline
from tagstream.sources.virtual_channels import VirtualChannel, VirtualChannels

VIRTUAL = """
[channels.virtual]
AorB = { kind = "combine", channels = ["A", "B"] }
AB = { kind = "coincidence", channels = ["A", "B"], window = "1 ns" }

[analysis]
g2_pair = ["AorB", "C"]
"""
CONFIG = """
[source]
simulator = "dot-4k-hbt3"
seed = 3
realtime = false

[output]
results_every = "0.5 s"
""" + VIRTUAL


def test_virtual_channels_live_and_offline(tmp_path, capsys):
    config = tmp_path / "virtual.toml"
    config.write_text(CONFIG)
    out = tmp_path / "virtual.h5"
    assert main(["run", str(config), "--duration", "2s", "-o", str(out)]) == 0
    capsys.readouterr()
    agreement = compare_with_offline(out)
    assert agreement.complete and "g2" in agreement.equal, agreement.equal
    with ts.open(out) as run:
        tags, md = run.read(), run.metadata
    names = {c.name: c.number for c in md.channels}
    assert {"AorB", "AB"} <= set(names)
    # the recorded virtual tags are the definitions applied to the recorded real tags
    real = ~np.isin(tags.channels, [names["AorB"], names["AB"]])
    plain = ts.TagBatch(tags.timestamps[real], tags.channels[real], tags.t_begin, tags.t_end,
                        metadata=md)  # fmt: skip
    specs = [VirtualChannel("AorB2", "combine", ("A", "B")),
             VirtualChannel("AB2", "coincidence", ("A", "B"), window_ps=1000)]  # fmt: skip
    again = VirtualChannels(specs, md).process(plain, final=True)
    for name in ("AorB", "AB"):
        made = again.timestamps[again.channels == again.metadata.channels[name + "2"].number]
        np.testing.assert_array_equal(tags.timestamps[tags.channels == names[name]], made)
    summary = ts.summary(out, config)
    assert summary["g2"]["pair"] == ["AorB", "C"] and summary["g2"]["g2_zero"] is not None

    # a plain file: the config's virtual channels are made when it is analysed
    plain_file = tmp_path / "plain.h5"
    assert main(["simulate", "dot-4k-hbt3", "--duration", "1s", "-o", str(plain_file)]) == 0
    offline = tmp_path / "offline.toml"
    offline.write_text(VIRTUAL)
    assert main(["analyze", str(plain_file), "--config", str(offline), "--json",
                 str(tmp_path / "s.json")]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "AorBxC" in text and "AorB" in ts.summary(plain_file, offline)["channels"]


def test_a_bad_virtual_channel_in_a_config_is_one_line(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text('[channels.virtual]\nX = { kind = "coincidence", channels = ["A"], '
                      'window = "1 ns" }\n')
    assert main(["analyze", "nothing.h5", "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "X" in err[0] and "two or more channels" in err[0], err
