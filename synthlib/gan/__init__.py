"""GANs (chapters 1 and 2): the losses, the recipe for the shared loop, the models and the latent explorer.

``losses`` (GAN losses and regularisers as pure functions), ``phases`` (:func:`gan_trainer`: G, D and a
:class:`GANConfig` become phases), ``mlp`` and ``toygan`` (chapter 1's 2-D GANs), ``dcgan`` (chapter 2's
networks), ``augment`` (differentiable augmentation for small datasets), ``latent_widget`` (the explorer).
"""

from synthlib.gan.phases import GANConfig, LossName, gan_phases, gan_trainer

__all__ = ["GANConfig", "LossName", "gan_phases", "gan_trainer"]
