"""The image-classification task: a folder of images, one subfolder per class (plugin.Task says what a task provides).

Its contract is schema.py (written by `make adopt`); images.py decodes files as training and serving both do,
features.py makes model inputs and request records, network.py holds the convolutional model, image_data.py the
training loaders and image_service.py the upload endpoint. This module hands them to the shared steps and states
this task's own settings, so a table project's configuration refuses them.
"""

import argparse
from pathlib import Path
from typing import Annotated, Any, ClassVar

import pandas as pd
from pydantic import BaseModel, Field

from . import features as encoding
from . import schema as data_contract
from .config import Count, DataModuleConfig, ModelConfig, Section, ServeConfig, ServiceSettings, TrainConfig
from .images import scan
from .task_base import EncodingMembers, FixedEncoding


class Augment(Section):
    flip: bool = Field(False, description="mirror half the training images left to right (not for digits or text)")
    shift: Annotated[int, Field(ge=0)] = Field(0, description="move each training image by up to this many pixels")


class ImageDataModuleConfig(DataModuleConfig):
    num_workers: Annotated[int, Field(ge=0)] = Field(0, description="processes decoding images (0: in training's)")
    augment: Augment = Field(default_factory=Augment, description="training-time augmentation")
    fit_rows: Count = Field(5000, description="training images the normalisation is fitted on, a seeded sample")


class ImageTrainConfig(TrainConfig):
    datamodule: ImageDataModuleConfig = Field(description="the LightningDataModule's keyword arguments")


class ImageModelConfig(ModelConfig):
    channels: list[Count] = Field(description="output channels of each convolution block")


class ImageServeConfig(ServeConfig):
    max_upload_bytes: Count = Field(description="POST /predict_image: a larger upload is refused (HTTP 413)")


class ImageServiceSettings(ServiceSettings):
    max_upload_bytes: Count


class ImageClassification(EncodingMembers, FixedEncoding):
    encoding = encoding  # features.py: encode, request records, what drift monitors (task_base.EncodingMembers)
    name = "image-classification"
    schema = data_contract.SCHEMA
    contract = data_contract.__name__
    label = data_contract.LABEL
    classes = data_contract.CLASSES
    class_names = encoding.CLASS_NAMES
    positive = data_contract.POSITIVE
    bundled = data_contract.BUNDLED
    csv_dialect: ClassVar[dict[str, str]] = {}  # the index of a folder is the project's own CSV
    source_kind = "folder"
    adopt_usage = "make adopt DATA=<folder of class subfolders>"
    current_kind = "a folder of images: class subfolders, or image files"
    group = encoding.GROUP
    features = encoding.FEATURES
    num_inputs = encoding.NUM_INPUTS
    description = encoding.DESCRIPTION
    monitored = encoding.MONITORED
    reference_split = "train"
    served_modules = ("features.py", "image_service.py", "images.py", "schema.py", "task.py")

    def add_adopt_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("data", help="a folder with one subfolder of PNG or JPEG images per class")
        parser.add_argument("--size", help="the model's input size, <width>x<height> (default: the most common size)")
        parser.add_argument(
            "--mode", choices=["L", "RGB"], help="grey (L) or colour (RGB) (default: what the files are)"
        )

    def adopt(self, args: argparse.Namespace) -> list[str]:
        from .adopt import adopt

        return adopt(args.data, size=args.size, mode=args.mode)

    def write_bundled(self, path: Path) -> Path:
        from .images import write_digits

        return write_digits(path)  # PNG files in class subfolders, the layout of your own images

    def describe(self, frame: pd.DataFrame) -> str:
        return f"{len(frame)} images in {frame[self.label].nunique()} classes"

    def read_folder(self, path: Path) -> tuple[pd.DataFrame, list[str]]:
        return scan(path)

    def datamodule(self, splits_dir: str, **settings: Any) -> Any:
        from .image_data import ImageDataModule

        return ImageDataModule(splits_dir, **settings)

    def input_layer(self, num_inputs: int, **settings: Any) -> Any:
        from .network import Inputs

        return Inputs(num_inputs)

    def network(self, num_inputs: int, num_classes: int, **settings: Any) -> Any:
        from .network import build

        return build(num_inputs, num_classes, **settings)

    def service_routes(self) -> type:
        from .image_service import ImageRoutes

        return ImageRoutes

    def middleware(self, settings: BaseModel) -> list[tuple[type, dict[str, Any]]]:
        from .image_service import UploadOnly

        return [(UploadOnly, {"max_upload_bytes": settings.max_upload_bytes})]  # type: ignore[attr-defined]

    def config_models(self) -> dict[str, type[BaseModel]]:
        return {"model": ImageModelConfig, "serve": ImageServeConfig, "service": ImageServiceSettings,
                "train": ImageTrainConfig}  # fmt: skip


TASK = ImageClassification()
