"""pictor_store.py - read object instances (image + binary mask) from a pictor HDF5 dataset.

A small reader of the layout documented in data/README.md (column table: data/store/store.c,
data/store/store_internal.h), enough for the interactive-segmentation experiments:

  - images: `image_storage` "encoded" = a byte table (/image uint8 [B] with /image_start int64
    [N] and /image_count int32 [N]) holding each item's JPEG/PNG file as imported, decoded here
    with OpenCV; "raw" = /image uint8 [N,H,W,C]. Root attribute `channels` is 1 (grey) or 3.
    Returned as H x W x 3 uint8 in RGB order (grey is repeated into three channels).
  - masks, two sources, in this order of preference:
      /instances (COCO-like files): item i owns instance rows item_start[i] ..
        item_start[i] + item_count[i] - 1; each row's mask is a single-channel 0/1 PNG in the
        byte table /instances/mask (mask_start int64, mask_count int32, 0 = no mask: a
        polygon-only instance, counted in `no_mask` and left out).
      /mask (image + mask folders, `pictor data import-masks`): one mask per item, attribute
        `mask_storage` "png" (byte table, mask_count 0 = no mask, left out and counted) or
        "raw" (/mask uint8 [N,H,W]).
    A mask is returned as int8 H x W: 1 object, 0 background, -1 ignore. Value 128 is the
    ignore label of the GrabCut / Berkeley boundary masks (RITM reads them the same way); any
    other non-zero value is object (0/1 and 0/255 masks both work).

Errors (ValueError with the file and what was expected): not a pictor file, a newer layout
version, an undecodable image or mask, a mask whose size differs from its image.
"""

import h5py
import numpy as np
import cv2

IGNORE = -1


class Instance:
    """One object: the item (image row) it belongs to and how to find its mask."""

    __slots__ = ("item", "row", "group", "source")

    def __init__(self, item, row, group, source):
        self.item = item      # image row in the file
        self.row = row        # instance row (/instances) or the item (/mask)
        self.group = group    # /group of the item (photo id; -1 = its own group)
        self.source = source  # "instances" or "mask"


class PictorStore:
    def __init__(self, path):
        self.path = path
        self.f = h5py.File(path, "r")
        a = self.f.attrs
        if a.get("pictor_format") != "pictor-dataset":
            raise ValueError(f"{path}: not a pictor dataset (root attribute pictor_format "
                             f"is {a.get('pictor_format')!r}, expected 'pictor-dataset')")
        ver = int(a.get("layout_version", -1))
        if ver != 1:
            raise ValueError(f"{path}: layout_version {ver}, this reader knows version 1")
        self.count = int(a["count"])
        self.image_storage = a["image_storage"]
        self.channels = int(a["channels"])
        if self.image_storage == "encoded":
            self.image_start = self.f["image_start"][:]
            self.image_count = self.f["image_count"][:]
        self.group = self.f["group"][:]
        self.no_mask = 0  # instances / items left out because they have no mask
        self.instances = self._list_instances()

    def close(self):
        self.f.close()

    def _list_instances(self):
        out = []
        if "instances" in self.f:
            g = self.f["instances"]
            start = g["item_start"][:]
            count = g["item_count"][:]
            self.inst_mask_start = g["mask_start"][:]
            self.inst_mask_count = g["mask_count"][:]
            for i in range(self.count):
                for r in range(int(start[i]), int(start[i]) + int(count[i])):
                    if self.inst_mask_count[r] > 0:
                        out.append(Instance(i, r, int(self.group[i]), "instances"))
                    else:
                        self.no_mask += 1
        elif "mask" in self.f:
            self.mask_storage = self.f.attrs["mask_storage"]
            if self.mask_storage == "png":
                self.mask_start = self.f["mask_start"][:]
                self.mask_count = self.f["mask_count"][:]
            for i in range(self.count):
                if self.mask_storage == "png" and self.mask_count[i] == 0:
                    self.no_mask += 1
                    continue
                out.append(Instance(i, i, int(self.group[i]), "mask"))
        else:
            raise ValueError(f"{self.path}: no masks (expected /instances or /mask)")
        return out

    def _bytes(self, table, start, count):
        return np.asarray(self.f[table][int(start):int(start) + int(count)], dtype=np.uint8)

    def image(self, item):
        """Item's image, H x W x 3 uint8 RGB."""
        if self.image_storage == "encoded":
            buf = self._bytes("image", self.image_start[item], self.image_count[item])
            im = cv2.imdecode(buf, cv2.IMREAD_COLOR)  # BGR; grey files are expanded
            if im is None:
                raise ValueError(f"{self.path}: image of item {item} does not decode")
            return cv2.cvtColor(im, cv2.COLOR_BGR2RGB)
        im = self.f["image"][item]
        if im.ndim == 2 or im.shape[2] == 1:
            return np.repeat(im.reshape(im.shape[0], im.shape[1], 1), 3, axis=2)
        return np.ascontiguousarray(im)

    def _decode_mask_png(self, table, start, count, what):
        m = cv2.imdecode(self._bytes(table, start, count), cv2.IMREAD_UNCHANGED)
        if m is None or m.ndim != 2:
            raise ValueError(f"{self.path}: {what} is not a single-channel PNG")
        return m

    def mask(self, inst):
        """Instance mask as int8: 1 object, 0 background, -1 ignore (value 128)."""
        if inst.source == "instances":
            m = self._decode_mask_png("instances/mask", self.inst_mask_start[inst.row],
                                      self.inst_mask_count[inst.row], f"instance mask {inst.row}")
        elif self.mask_storage == "png":
            m = self._decode_mask_png("mask", self.mask_start[inst.row],
                                      self.mask_count[inst.row], f"mask of item {inst.row}")
        else:
            m = self.f["mask"][inst.row]
        out = (m != 0).astype(np.int8)
        out[m == 128] = IGNORE
        return out

    def sample(self, inst):
        """(image RGB uint8, mask int8) of one instance, checked to be the same size."""
        im = self.image(inst.item)
        m = self.mask(inst)
        if im.shape[:2] != m.shape:
            raise ValueError(f"{self.path}: item {inst.item}: mask {m.shape[1]}x{m.shape[0]} "
                             f"but image {im.shape[1]}x{im.shape[0]}")
        return im, m
