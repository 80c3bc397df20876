"""PyTorch reference of train/small_cnn.c: the same module paths, so a state_dict moves between
pictor and Python with load_state_dict(strict=True)."""
import torch.nn as nn


class SmallCNN(nn.Module):
    def __init__(self, in_channels, width, hidden, num_classes, image_size):
        super().__init__()
        w, side = width, image_size // 4
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(1), nn.Linear(2 * w * side * side, hidden), nn.ReLU(),
            nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))
