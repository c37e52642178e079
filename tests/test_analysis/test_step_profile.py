"""mmpose_ext.analysis.step_profile: where a step's time goes."""
import pytest
import torch

from mmpose_ext.analysis import step_profile
from mmpose_ext.analysis.benchmark import Bench

from .test_benchmark import TINY_RES18


@pytest.mark.parametrize('name, kind', [
    ('aten::mkldnn_convolution', 'convolution forward'),
    ('aten::_slow_conv2d_forward', 'convolution forward'),
    ('aten::convolution_backward', 'convolution backward'),
    ('aten::_slow_conv2d_backward', 'convolution backward'),
    ('aten::native_batch_norm_backward', 'batch norm'),
    ('aten::upsample_bilinear2d_backward', 'resampling'),
    ('aten::copy_', 'copies and layout'),
    ('aten::cat', 'copies and layout'),
    ('cpp_fused_add_native_batch_norm_relu_0', 'compiled kernels'),
    ('Torch-Compiled Region: 0/0', 'compiled kernels'),
    ('## Call CompiledFxGraph ftj5ellr6tdn63iu6ffcexcnnlxa ##',
     'compiled kernels'),
    ('aten::addcdiv_', 'other'),
    ('aten::add', 'other'),  # not aten::addcdiv_ nor a copy
])
def test_op_kind(name, kind):
    assert step_profile.op_kind(name) == kind


def test_kind_shares_add_up_and_reject_nothing():
    shares = step_profile.kind_shares([
        ('aten::mkldnn_convolution', 3.), ('aten::convolution_backward', 4.),
        ('aten::copy_', 1.), ('aten::mul', 2.)])
    assert list(shares) == list(step_profile.KINDS)
    assert shares['convolution forward'] == pytest.approx(0.3)
    assert shares['convolution backward'] == pytest.approx(0.4)
    assert shares['copies and layout'] == pytest.approx(0.1)
    assert shares['other'] == pytest.approx(0.2)
    assert shares['batch norm'] == 0
    with pytest.raises(ValueError, match='no operator time'):
        step_profile.kind_shares([])


def test_profiles_exactly_the_asked_steps(tmp_path, one_thread):
    """Every convolution module runs once per profiled training step
    (forward and backward), none from the warm-up."""
    config = tmp_path / 'res18.py'
    config.write_text(TINY_RES18)
    bench = Bench('config', str(config), torch.device('cpu'), 2, (64, 64), 0)
    convs = sum(isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))
                for m in bench.model.modules())
    prof, wall = step_profile.profile_steps(bench, 'train', steps=2,
                                            warmup=1)
    counts = {e.key: e.count for e in prof.key_averages()}
    assert counts['aten::convolution'] == 2 * convs
    assert counts['aten::convolution_backward'] == 2 * convs
    assert counts['Optimizer.step#Adam.step'] == 2
    assert wall > 0


def test_report(tmp_path, capsys, one_thread):
    config = tmp_path / 'res18.py'
    config.write_text(TINY_RES18)
    report = step_profile.main([str(config), '--steps', '1', '--warmup', '1',
                                '--threads', '1', '--top', '5',
                                '--parents', 'aten::convolution'])
    shares = report['shares']
    assert sum(shares.values()) == pytest.approx(1)
    assert shares['convolution forward'] > 0
    assert shares['convolution backward'] > 0
    assert 0 < report['optimizer_share'] < 1
    out = capsys.readouterr().out
    assert 'convolution backward' in out and '(optimizer step' in out
    assert 'Self CPU time total' in out  # torch.profiler's table
    # every convolution is called through conv2d (the deconvolution head:
    # conv_transpose2d), input shapes recorded
    assert {caller for caller, *_ in report['parents']} == {
        'aten::conv2d', 'aten::conv_transpose2d'}
    assert all(shape.startswith('2x') for _, shape, _ in report['parents'])
    assert 'aten::convolution, self CPU time per step by caller' in out


def test_rejects_bad_counts():
    with pytest.raises(SystemExit):
        step_profile.parse_args(['c.py', '--steps', '0'])


def test_kernel_profile_names_compiled_kernels():
    """With the switch each inductor kernel is an event of its own (and is
    sorted as a compiled kernel); without it none is."""
    import torch._inductor.config as inductor_config
    assert hasattr(inductor_config.cpp, 'enable_kernel_profile')

    def names(enabled):
        torch._dynamo.reset()
        with step_profile.kernel_profile(enabled):
            fn = torch.compile(lambda x: torch.relu(x * 2 + 1).sum())
            x = torch.randn(64, 64)
            fn(x)
            with torch.profiler.profile() as prof:
                fn(x)
        return [e.key for e in prof.key_averages()]

    kernels = [n for n in names(True) if 'cpp_fused' in n]
    assert kernels
    assert {step_profile.op_kind(n) for n in kernels} == {'compiled kernels'}
    assert not [n for n in names(False) if 'cpp_fused' in n]
    assert not inductor_config.cpp.enable_kernel_profile  # restored


def test_parent_times_charge_a_kernel_its_own_input_copy(one_thread):
    """The copy ATen's bilinear gradient makes of a channel slice of a
    channels-last gradient is charged to that kernel, with the slice's
    shape; a top-level copy to the top level; and the per-step times add
    up to the operator's self time in the profile."""
    grad = torch.randn(2, 8, 16, 12).to(
        memory_format=torch.channels_last)[:, 2:6]
    with torch.profiler.profile(record_shapes=True) as prof:
        for _ in range(2):
            torch.ops.aten.upsample_bilinear2d_backward(
                grad, [16, 12], [2, 4, 4, 3], False)
            grad.clone()
    rows = step_profile.parent_times(prof.events(), 'aten::copy_', steps=2)
    callers = {(caller, shape) for caller, shape, _ in rows}
    assert ('aten::upsample_bilinear2d_backward', '2x4x16x12') in callers
    assert ('(top level)', '2x4x16x12') in callers
    total = sum(e.self_cpu_time_total for e in prof.key_averages()
                if e.key == 'aten::copy_') / 1e6
    assert sum(t for *_, t in rows) == pytest.approx(total / 2)
    assert [t for *_, t in rows] == sorted((t for *_, t in rows),
                                           reverse=True)
