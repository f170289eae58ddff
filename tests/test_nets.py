"""Generator and discriminator (paper section 6.4)."""

import pytest
import torch
from typer.testing import CliRunner

from qaaan.nets import FEATURES, Discriminator, Generator

runner = CliRunner()


@pytest.mark.parametrize("refine", [True, False])
@pytest.mark.parametrize(("variant", "shape"), [("grey28", (1, 28, 28)), ("colour64", (3, 64, 64))])
def test_nets_shapes_and_gradient_flow(variant, shape, refine):
    torch.manual_seed(0)
    generator, discriminator = Generator(variant, 100, 8, refine), Discriminator(variant, 8)
    images = generator(torch.rand(4, 100) * 2 - 1)
    assert images.shape == (4, *shape) and images.abs().max() <= 1
    logit, features = discriminator(images)
    assert logit.shape == (4,) and features.shape == (4, FEATURES)
    assert features.abs().max() <= 1  # the tanh feature layer rho_f
    (logit.sum() + features.sum()).backward()
    for net in (generator, discriminator):
        for name, parameter in net.named_parameters():
            assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize(("variant", "upsamplings"), [("grey28", 2), ("colour64", 4)])
def test_the_papers_generator_and_the_refined_one(variant, upsamplings):
    """refine=False: only the paper's transpose convolutions (stride 2, kernel 4) after the dense
    layer; refine=True adds one 3x3 stride-1 convolution per upsampling, and a 3x3 output one."""
    paper = [m for m in Generator(variant, 100, 8, refine=False).upsample if hasattr(m, "stride")]
    assert [(m.kernel_size, m.stride) for m in paper] == [((4, 4), (2, 2))] * upsamplings
    refined = [m for m in Generator(variant, 100, 8).upsample if hasattr(m, "stride")]
    assert [m.stride for m in refined] == [(2, 2), (1, 1)] * upsamplings + [(1, 1)]


def test_bfloat16_precision_computes_in_bfloat16_and_keeps_float32_outputs_and_weights():
    torch.manual_seed(0)
    full, half = Generator("grey28", 100, 8), Generator("grey28", 100, 8, precision="bfloat16")
    half.load_state_dict(full.state_dict())
    critic, half_critic = (
        Discriminator("grey28", 8),
        Discriminator("grey28", 8, precision="bfloat16"),
    )
    half_critic.load_state_dict(critic.state_dict())
    latent = torch.rand(16, 100) * 2 - 1
    images, half_images = full(latent), half(latent)
    (logit, features), (half_logit, half_features) = critic(images), half_critic(half_images)
    for exact, rounded in [(images, half_images), (logit, half_logit), (features, half_features)]:
        assert rounded.dtype == torch.float32
        # rounded to bfloat16's 8-bit mantissa on the way: close, but not the float32 result
        assert 0 < (exact - rounded).abs().max() < 0.1
    (half_logit.sum() + half_features.sum()).backward()
    assert all(p.grad.dtype == torch.float32 for p in half.parameters())
    assert all(p.dtype == torch.float32 for p in half.parameters())


def test_channels_last_nets_hold_their_convolutions_channels_last_and_compute_the_same(tmp_path):
    from qaaan.nets import build
    from tests.helpers import tiny

    plain = build(tiny(tmp_path), torch.device("cpu"))
    last = build(tiny(tmp_path, channels_last=True), torch.device("cpu"))
    weights = [p for net in last for p in net.parameters() if p.ndim == 4]
    assert weights and all(p.is_contiguous(memory_format=torch.channels_last) for p in weights)
    assert not all(p.is_contiguous() for p in weights)
    latent = torch.rand(16, 100) * 2 - 1
    images, last_images = plain[0](latent), last[0](latent)
    assert last_images.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(images, last_images, atol=1e-5)
    assert torch.allclose(plain[1](images)[0], last[1](last_images)[0], atol=1e-5)


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_outputs_come_in_the_inputs_dtype(precision):
    """float64 nets (the data-parallel tests' exact comparison) stay float64 end to end."""
    generator = Generator("grey28", 100, 8, precision=precision).double()
    discriminator = Discriminator("grey28", 8, precision=precision).double()
    images = generator(torch.rand(4, 100, dtype=torch.float64))
    logit, features = discriminator(images)
    assert images.dtype == logit.dtype == features.dtype == torch.float64
