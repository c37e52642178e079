"""mmpose_ext.engine.fast_path: channels-last weights give the same outputs
and gradients for every model family; MMEngine's train_step compile is
where the package expects it."""
import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmpose.apis.inference import dataset_meta_from_config
from mmpose.registry import MODELS
from torch import nn

from mmpose_ext.analysis import TensorForward
from mmpose_ext.engine.fast_path import (
    apply_fast_path,
    compile_network,
    compile_options,
    fast_path_options,
    is_compiled,
    network_modules,
    undo_mmengine_train_step_compile,
    use_custom_operators,
)
from mmpose_ext.models.utils import MaxPool2d, Upsample
from mmpose_ext.testing import config_topdown_batch

from ..test_apis.tool_runs import TINY_RES18_MODEL

ROOT = Path(__file__).resolve().parents[2]
# every model family of the package, synthetic (128x96) settings
FAMILIES = {
    'simple_baseline': 'configs/synthetic/td-hm_res18_synthetic-coco-'
    '128x96.py',
    'cpn': 'configs/cpn/cpn_res18_synthetic-coco-128x96.py',
    'mspn': 'configs/mspn/mspn50-2stage_synthetic-coco-128x96.py',
    'mca_hourglass': 'configs/synthetic/mca_hourglass_synthetic-coco-'
    '128x96.py',
    'hourglass': 'configs/hourglass/td-hm_res-hourglass_synthetic-coco-'
    '128x96.py',
    'sg_hourglass': 'configs/soft_gated/td-hm_sg-hourglass_synthetic-coco-'
    '128x96.py',
    'hrnet': 'configs/hrnet/td-hm_hrnet-w32_ohkm_synthetic-coco-128x96.py',
}


def flat(outputs):
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    return [t for item in outputs for t in flat(item)]


@pytest.mark.slow
@pytest.mark.parametrize('family', list(FAMILIES))
def test_channels_last_equals_channels_first(family, one_thread):
    """Eval outputs and one training step's loss and gradients, the same
    weights in both layouts (float tolerance, against float64 for the
    gradients); the activations really are channels-last."""
    cfg = Config.fromfile(str(ROOT / FAMILIES[family]))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    fast = copy.deepcopy(model)
    apply_fast_path(fast, channels_last=True)
    convs = [m for m in fast.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(
        c.weight.is_contiguous(memory_format=torch.channels_last)
        for c in convs)

    x = torch.randn(2, 3, 128, 96)
    with torch.no_grad():
        a = flat(TensorForward(model).eval()(x))
        b = flat(TensorForward(fast).eval()(x))
        first = fast.backbone(x)
    first = flat(first)[0]
    assert first.is_contiguous(memory_format=torch.channels_last)
    for u, v in zip(a, b):
        torch.testing.assert_close(v, u, rtol=1e-4,
                                   atol=1e-4 * u.abs().max().item())

    meta = dataset_meta_from_config(cfg, 'train')
    batch = config_topdown_batch(cfg, (96, 128), 2, meta, seed=1)
    ref_loss, ref = loss_and_grads(model, batch, torch.float64)
    fp32_loss, fp32 = loss_and_grads(model, batch)
    cl_loss, cl = loss_and_grads(model, batch, channels_last=True)
    assert len(ref) == len(fp32) == len(cl) > 0
    # Rounding only: oneDNN's channels-last backward-weight kernels sum in
    # another order than the channels-first ones. Where the gradients of
    # a random initialisation cancel (the stem's), that differs from
    # float64 by up to 1-2 % of the largest gradient, against ~0.1 % in
    # channels-first; some families are ill-conditioned in both layouts
    # (MSPN's float32 gradients differ from float64 by 20 %). A layout bug
    # would be wrong by the gradients' own size.
    scale = max(g.abs().max().item() for g in ref)

    def error(grads):
        return max((g - r).abs().max().item() for g, r in zip(grads, ref))

    assert error(cl) <= max(3 * error(fp32), 0.03 * scale)
    assert abs(cl_loss - ref_loss) <= 3 * abs(fp32_loss - ref_loss) + \
        1e-6 * abs(ref_loss)


def loss_and_grads(model, batch, dtype=torch.float32, channels_last=False):
    """A copy of ``model`` in ``dtype``: one training forward's total loss
    and its gradients (float64)."""
    net = copy.deepcopy(model).to(dtype)
    apply_fast_path(net, channels_last=channels_last)
    net.train()
    data = net.data_preprocessor(copy.deepcopy(batch), True)
    data['inputs'] = data['inputs'].to(dtype)
    for sample in data['data_samples']:
        fields = sample.gt_fields
        fields.heatmaps = fields.heatmaps.to(dtype)
        labels = sample.gt_instance_labels
        labels.keypoint_weights = labels.keypoint_weights.to(dtype)
    losses = net.loss(**data)
    loss = sum(v for k, v in losses.items() if k.startswith('loss'))
    loss.backward()
    return loss.item(), [
        p.grad.double() for p in net.parameters() if p.grad is not None
    ]


def test_options_from_a_config():
    cfg = Config.fromfile(str(ROOT / FAMILIES['simple_baseline']))
    assert fast_path_options(cfg) == (True, None)  # the runtime base's
    cfg.merge_from_dict({'default_hooks.fast_path.channels_last': False,
                         'compile': dict(mode='reduce-overhead')})
    assert fast_path_options(cfg) == (False, dict(dynamic=False,
                                                  mode='reduce-overhead'))
    assert compile_options(True) == dict(dynamic=False)
    assert compile_options(False) is None
    assert compile_options(dict(mode='max-autotune')) == dict(
        dynamic=False, mode='max-autotune')
    assert compile_options(dict(dynamic=None)) == dict(dynamic=None)
    with pytest.raises(TypeError, match='compile must be'):
        compile_options('yes')


def test_compile_network_is_in_place_and_once():
    cfg = Config.fromfile(str(ROOT / FAMILIES['simple_baseline']))
    model = MODELS.build(cfg.model)
    keys = list(model.state_dict())
    parts = network_modules(model)
    assert [type(p).__name__ for p in parts] == ['ResNet', 'HeatmapHead']
    assert compile_network(model) == parts
    assert all(is_compiled(p) for p in parts)
    assert compile_network(model) == []  # already compiled
    assert list(model.state_dict()) == keys  # names unchanged


def dynamo_parameter_name(name: str) -> str:
    """The graph input dynamo names a module's parameter ``name`` by
    (``layer.0.weight`` -> ``l_self_modules_layer_modules_0_parameters_
    weight_``)."""
    *modules, last = name.split('.')
    return ('l_self_' + ''.join(f'modules_{m}_' for m in modules) +
            f'parameters_{last}_')


@pytest.mark.slow
@pytest.mark.parametrize('family', ['cpn', 'mca_hourglass', 'simple_baseline'])
def test_compiled_training_step_compiles_the_head(family, one_thread):
    """MMPose's estimators call ``head.loss``, which calls ``forward``:
    compiling the module call never reached a head. The graphs dynamo
    captures in a training step include the head's parameters, and the
    losses equal the eager ones (the captured graphs run as they are)."""
    cfg = Config.fromfile(str(ROOT / FAMILIES[family]))
    if family == 'simple_baseline':
        cfg.model.merge(TINY_RES18_MODEL)
    elif family == 'mca_hourglass':
        cfg.model.backbone.feat_channels = 16
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    meta = dataset_meta_from_config(cfg, 'train')
    batch = config_topdown_batch(cfg, (96, 128), 2, meta, seed=3)
    eager = loss_and_grads(model, batch)
    graphs = []

    def record(gm, example_inputs):
        graphs.append([n.name for n in gm.graph.nodes
                       if n.op == 'placeholder'])
        return gm.forward

    compiled_model = copy.deepcopy(model)
    compile_network(compiled_model, dict(backend=record))
    compiled = loss_and_grads(compiled_model, batch)
    head = {dynamo_parameter_name(n) for n, _ in model.head.named_parameters()}
    assert any(head <= set(g) for g in graphs), graphs
    assert compiled[0] == pytest.approx(eager[0], rel=1e-6)
    for a, b in zip(compiled[1], eager[1]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-8)


@pytest.mark.slow
def test_compiled_inference_matches_eager(one_thread):
    """``test_step`` (flip test, heatmap decoding) with the backbone and
    head compiled gives the eager heatmaps and keypoints (the compiled
    validation of a run: its tools/train.py test is in
    tests/test_engine/test_hooks/test_fast_path_hook.py)."""
    cfg = Config.fromfile(str(ROOT / FAMILIES['simple_baseline']))
    cfg.model.merge(dict(TINY_RES18_MODEL,
                         test_cfg=dict(flip_test=True, output_heatmaps=True)))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    model.init_weights()
    meta = dataset_meta_from_config(cfg, 'val')
    model.dataset_meta = meta
    batch = config_topdown_batch(cfg, (96, 128), 2, meta, seed=2)
    with torch.no_grad():
        eager = model.test_step(copy.deepcopy(batch))
        apply_fast_path(model, channels_last=True, compile_cfg={})
        compiled = model.test_step(copy.deepcopy(batch))
    for a, b in zip(eager, compiled):
        heatmaps = a.pred_fields.heatmaps
        torch.testing.assert_close(b.pred_fields.heatmaps, heatmaps,
                                   rtol=1e-4,
                                   atol=1e-4 * heatmaps.abs().max().item())
        # decoded from those heatmaps: equal but where a near-tie of two
        # heatmap pixels flips the argmax
        close = np.abs(b.pred_instances.keypoints -
                       a.pred_instances.keypoints).max(-1) < 0.01
        assert close.mean() >= 0.9


class RecordTrainStep(Hook):
    """What MMEngine left on the model before the training loop."""

    def before_train(self, runner):
        self.had_compiled_train_step = 'train_step' in vars(runner.model)
        self.removed = undo_mmengine_train_step_compile(runner)
        self.left = 'train_step' in vars(runner.model)


def test_mmengine_compiles_train_step_as_an_instance_attribute(
        toy_runner, tmp_path):
    """The MMEngine detail FastPathHook relies on (0.10.7): with
    ``compile=True`` the runner sets a compiled ``train_step`` on the model
    instance before the training loop; removing it restores the method, so
    training runs eager."""
    runner = toy_runner(tmp_path, max_iters=2)
    runner.cfg['compile'] = True  # what MMEngine's _maybe_compile reads
    probe = RecordTrainStep()
    runner.register_hook(probe)
    runner.train()
    assert probe.had_compiled_train_step and probe.removed
    assert not probe.left
    assert runner.iter == 2


def smoke():
    assert compile_options(None) is None


@pytest.mark.slow
@pytest.mark.parametrize('family,autocast_head,options', [
    ('mca_hourglass', False, {}), ('cpn', True, {}),
    ('mca_hourglass', False, dict(options=dict(cpp_wrapper=True)))],
    ids=['mca_hourglass', 'cpn-autocast_head', 'mca_hourglass-cpp_wrapper'])
def test_compiled_bfloat16_training_step_matches_eager(family, autocast_head,
                                                       options, one_thread):
    """``compile=True`` under the CPU AMP wrapper's bfloat16 autocast (the
    package's ``interpolate`` and ``MaxPool2d`` take their custom operators
    there), inductor compiling: a training step's loss follows the eager
    bfloat16 one to bfloat16 tolerance, and its gradients are as close to
    the float32 step's as the eager bfloat16 gradients are. The MCA
    hourglass has both operators (nearest resizing, max pooling); CPN runs
    with its head under autocast too (``autocast_head``, the combination
    docs/fast_path.md finds fastest for it), the compiled head inside the
    autocast block. Inductor's C++ wrapper (``cpp_wrapper``, recommended
    for MSPN) calls the same kernels and custom operators from C++."""
    from mmengine.optim import build_optim_wrapper
    cfg = Config.fromfile(str(ROOT / FAMILIES[family]))
    if family == 'mca_hourglass':
        cfg.model.backbone.feat_channels = 16
    if options:  # one stack: half the C++ wrapper's compile time
        cfg.model.backbone.num_stacks = cfg.model.head.num_stages = 1
        cfg.model.head.loss.num_stages = 1
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    apply_fast_path(model, channels_last=True)
    meta = dataset_meta_from_config(cfg, 'train')
    batch = config_topdown_batch(cfg, (96, 128), 2, meta, seed=3)

    def step(net, wrapper_type='CpuAmpOptimWrapper'):
        options = dict(native_only=False, autocast_head=autocast_head) \
            if wrapper_type != 'OptimWrapper' else {}
        wrapper = build_optim_wrapper(net, dict(
            type=wrapper_type, optimizer=dict(type='SGD', lr=0.0),
            **options))
        net.train()
        with wrapper.optim_context(net):
            data = net.data_preprocessor(copy.deepcopy(batch), True)
            losses = net.loss(**data)
        loss = sum(v for k, v in losses.items() if k.startswith('loss'))
        loss.backward()
        return loss.item(), [p.grad.float() for p in net.parameters()
                             if p.grad is not None]

    eager = step(copy.deepcopy(model))
    compiled_model = copy.deepcopy(model)
    compile_network(compiled_model, options)
    compiled = step(compiled_model)
    assert compiled[0] == pytest.approx(eager[0], rel=2e-2)
    # gradients as one vector each, against the float32 step's: bfloat16
    # rounding through the network leaves the small gradients uncorrelated
    # (per tensor they are not comparable); compiled bfloat16 is as close
    # to float32 as eager bfloat16 is
    cosine = torch.nn.functional.cosine_similarity

    def flat(grads):
        return torch.cat([g.flatten() for g in grads])

    fp32 = flat(step(copy.deepcopy(model), 'OptimWrapper')[1])
    eager_cos = cosine(flat(eager[1]), fp32, dim=0)
    compiled_cos = cosine(flat(compiled[1]), fp32, dim=0)
    assert eager_cos > 0.9
    assert compiled_cos > eager_cos - 0.02, (compiled_cos, eager_cos)


def test_use_custom_operators_changes_plain_pooling_and_upsampling():
    """Supported nn.MaxPool2d / MMCV MaxPool2d / nn.Upsample modules become
    the package's subclasses (same outputs, same state); other settings are
    left alone."""
    from mmcv.cnn import MaxPool2d as MMCVMaxPool2d
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.MaxPool2d(3, 2, 1),                          # changed
        MMCVMaxPool2d(kernel_size=2),                   # changed
        nn.Upsample(scale_factor=2, mode='nearest'),    # changed
        nn.Upsample(scale_factor=2, mode='bilinear',
                    align_corners=False),               # changed
        nn.MaxPool2d(2, dilation=2),                    # left: dilation
        nn.Upsample(scale_factor=1.5, mode='nearest'),  # left: fraction
        nn.Upsample(size=(9, 7), mode='bicubic'),       # left: mode
    )
    x = torch.randn(2, 3, 16, 12)
    expected = model(x)
    keys = list(model.state_dict())
    assert use_custom_operators(model) == 4
    kinds = [type(m) for m in model]
    assert kinds[1:5] == [MaxPool2d, MaxPool2d, Upsample, Upsample]
    assert kinds[5:] == [nn.MaxPool2d, nn.Upsample, nn.Upsample]
    assert torch.equal(model(x), expected)
    assert list(model.state_dict()) == keys
    assert use_custom_operators(model) == 0  # already the package's


def test_compile_network_uses_custom_operators_for_mmpose_modules():
    """compile_network changes MMPose's HRNet fuse-layer nn.Upsample before
    compiling, so the compiled backward runs ATen's upsampling gradient
    kernel, not the compiler's scatter-add."""
    from torch.profiler import profile

    class Estimator(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(
                nn.Conv2d(3, 4, 3, stride=2, padding=1),
                nn.Upsample(scale_factor=2, mode='nearest'),
                nn.Conv2d(4, 2, 1))

    torch.manual_seed(0)
    model = Estimator()
    reference = copy.deepcopy(model)
    compile_network(model, dict(dynamic=False))
    assert type(model.backbone[1]) is Upsample
    x = torch.randn(2, 3, 8, 6)
    x_ref = x.clone().requires_grad_()
    reference.backbone(x_ref).square().sum().backward()
    x_new = x.clone().requires_grad_()
    model.backbone(x_new).square().sum().backward()  # compiles
    torch.testing.assert_close(x_new.grad, x_ref.grad)
    with profile() as prof:
        model.backbone(x.clone().requires_grad_()).square().sum().backward()
    names = {e.name for e in prof.events()}
    # without the change the compiled backward has no ATen upsampling
    # kernel (inductor's generated scatter-add instead)
    assert 'aten::upsample_nearest2d_backward' in names
