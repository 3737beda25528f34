"""Models, one file per family. Every model is built from its ``Config`` dataclass.

Importing this package registers every family, so :func:`build` can rebuild any of them
from a checkpoint.
"""

from synthlib.models.base import build, register, registered, spec
from synthlib.models.classifier import FashionClassifier
from synthlib.models.classifier import EmojiStyleClassifier
from synthlib.models.diffusion import ConvVAE, DiffusionUNet
from synthlib.models.dcgan import DCGANDiscriminator, DCGANGenerator
from synthlib.models.patchgan import PatchGANDiscriminator
from synthlib.models.resnet_gen import ResnetGenerator
from synthlib.models.restore import DIPNet, InpaintUNet, SRResNet
from synthlib.models.stylegan import StyleGANDiscriminator, StyleGANGenerator
from synthlib.models.stylenets import AdaINDecoder, TransformerNet
from synthlib.models.toy import MLPDiscriminator, MLPGenerator
from synthlib.models.unet import UNetGenerator
from synthlib.models.vgg import VGG16Features

__all__ = [
    "DCGANDiscriminator", "DCGANGenerator", "FashionClassifier", "MLPDiscriminator", "MLPGenerator",
    "build", "register", "registered", "spec",
    "PatchGANDiscriminator", "ResnetGenerator", "UNetGenerator",
    "EmojiStyleClassifier", "VGG16Features", "AdaINDecoder", "TransformerNet",
    "DIPNet", "InpaintUNet", "SRResNet",
    "StyleGANDiscriminator", "StyleGANGenerator",
    "ConvVAE", "DiffusionUNet",
]
