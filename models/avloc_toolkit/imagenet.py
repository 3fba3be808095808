"""ImageNet normalisation (torchvision's): what the visual encoders expect and the exported graphs apply."""
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
