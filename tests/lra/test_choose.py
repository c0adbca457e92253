"""model.conv=auto: both paths timed on the run's device and shape, the faster one run and
recorded; a config that names a path, and a recurrent model, are not timed. (A run's records
of its choice, and a resumed run keeping it: tests/lra/test_resume.py.)"""

import jax
import pytest

from lra import choose
from lra.configs import changes, get_config
from lra.errors import TrainingError
from models.s4d import SSMConfig
from tasks.listops import SPEC


def test_both_paths_are_timed_and_the_faster_taken_once_per_process():
    ssm = SSMConfig(d_state=8, bidirectional=True)
    choice = choose.choose(ssm, 2, 128, 16, "float32")
    ms = choice["median_ms"]
    assert set(ms) == {"fft", "chunked"} and all(v > 0 for v in ms.values())
    assert choice["chosen"] == min(ms, key=ms.get)
    assert (choice["shape"], choice["dtype"], choice["device"]) == (
        [2, 128, 16], "float32", jax.devices()[0].device_kind)
    assert choose.choose(ssm, 2, 128, 16, "float32") is choice  # equal runs: timed once
    line = choose.describe(choice)
    assert line.startswith(f"model.conv=auto: {choice['chosen']} (") and "B=2, L=128, H=16" in line


def test_resolve_writes_the_choice_into_the_config():
    assert get_config("listops", "full").model.conv == "auto"  # the default
    cfg = get_config("listops", "smoke", ["max_length=128", "model.conv=auto"])
    resolved, choice = choose.resolve(cfg, SPEC, micro_batch=2)
    assert resolved.model.conv == choice["chosen"] in ("fft", "chunked")
    assert choice["shape"] == [2, 128, cfg.model.d_model]
    named = get_config("listops", "smoke", ["model.conv=chunked"])
    assert choose.resolve(named, SPEC, micro_batch=2) == (named, None)
    recurrent = get_config("listops", "smoke", ["model.mode=recurrent", "model.conv=auto"])
    resolved, choice = choose.resolve(recurrent, SPEC, micro_batch=2)
    assert resolved.model.conv == "fft" and choice == {"chosen": "fft",
                                                       "by": "mode=recurrent (not timed)"}
    # A path chosen for a variant's auto is no change from it; from a variant's fft it is.
    assert "model.conv" not in changes(choose.with_conv(get_config("listops", "full"), "chunked"))
    assert changes(choose.with_conv(get_config("listops", "smoke"), "chunked")) == {
        "model.conv": "chunked"}
    kept, choice = choose.resolve(cfg, SPEC, micro_batch=2, saved="chunked")
    assert kept.model.conv == "chunked" and choice["by"] == "the resumed run's config.json"


def test_a_path_that_fails_on_the_device_is_left_out(monkeypatch):
    # As a device out of memory fails a program: XLA's runtime error, here for the chunked path.
    real = choose.time_path

    def chunked_fails(ssm, *args, **kwargs):
        if ssm.conv == "chunked":
            raise jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 9 GiB")
        return real(ssm, *args, **kwargs)

    monkeypatch.setattr(choose, "time_path", chunked_fails)
    choice = choose.choose(SSMConfig(d_state=8), 2, 64, 8, "float32")
    assert choice["chosen"] == "fft" and set(choice["median_ms"]) == {"fft"}
    assert choice["failed"] == {"chunked": "RESOURCE_EXHAUSTED: Out of memory allocating 9 GiB"}
    assert "chunked failed: RESOURCE_EXHAUSTED" in choose.describe(choice)
    monkeypatch.setattr(choose, "time_path", lambda *a, **k: chunked_fails(
        SSMConfig(d_state=8, conv="chunked")))
    with pytest.raises(TrainingError, match="model.conv=auto: every path failed on cpu at "
                                            "B=2, L=32, H=8"):
        choose.choose(SSMConfig(d_state=8), 2, 32, 8, "float32")
