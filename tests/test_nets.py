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
