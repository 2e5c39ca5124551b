"""Training-time augmentation of images (the image task's own tests)."""

import torch

from {{ cookiecutter.package }}.data import datamodule
from {{ cookiecutter.package }}.features import NUM_INPUTS


def test_augmentation_moves_and_mirrors_training_images_only(splits):
    """configs/train.yaml datamodule.augment: flip and shift change the training batches, never the validation ones."""
    plain = datamodule(str(splits), batch_size=16)
    augmented = datamodule(str(splits), batch_size=16, augment={"flip": True, "shift": 2})
    for data in (plain, augmented):
        data.setup()
    torch.manual_seed(0)
    first = augmented.train_dataloader().dataset[0][0]
    originals = plain.train_dataloader().dataset[0][0]
    assert first.shape == originals.shape == (NUM_INPUTS,)
    changed = [not torch.equal(augmented.train_dataloader().dataset[0][0], originals) for _ in range(10)]
    assert any(changed), "ten draws of flip + shift all left the image as it was"
    torch.testing.assert_close(augmented.val_dataloader().dataset[0][0], plain.val_dataloader().dataset[0][0])
