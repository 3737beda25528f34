"""Networks used by several families: the U-Net generator, the PatchGAN discriminator, VGG16 features and the
classifiers the metrics use.
"""
