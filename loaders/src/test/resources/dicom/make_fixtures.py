#!/usr/bin/python3
"""Makes the DICOM fixtures of DicomDecoderTest and their expected decodings.

Run from this folder with Debian's python3-pydicom (2.3), python3-numpy, dcmtk (dcmcjpeg) and libgdcm-tools
(gdcmconv): /usr/bin/python3 make_fixtures.py. The pixel values come from a fixed numpy seed, so a rerun writes the
same files, except that dcmtk and gdcm give their outputs new UIDs and dates (the pixels and every .npy stay the
same). Each NAME.dcm gets NAME.npy: what the decoder must produce, float64, (rows, columns) for grayscale (the
decoder replicates it to three channels) or (rows, columns, 3) for colour, in [0, 1].

The expected values are pydicom's, not Graft's: pixel_array (the stored values; for BitsStored < BitsAllocated the
low bits taken and sign-extended here with numpy, which pydicom 2.3 leaves to the caller), apply_modality_lut
(rescale slope/intercept), and for a window apply_voi_lut, whose output spans pydicom's [y_min, y_max] (the stored
range through the rescale) and is brought to [0, 1] here. Without a window the modality values' own min..max maps to
[0, 1]. MONOCHROME1 is then 1 - y, so it displays as MONOCHROME2 does.
"""
import os
import subprocess

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixel_data_handlers.util import apply_modality_lut, apply_voi_lut
from pydicom.sequence import Sequence
from pydicom.uid import (ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian,
                         DeflatedExplicitVRLittleEndian, generate_uid)

rng = np.random.default_rng(13)
SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7'


def dataset(pixels, bits_stored, signed, photometric='MONOCHROME2', syntax=ExplicitVRLittleEndian, **tags):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SECONDARY_CAPTURE
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[str(tags), str(bits_stored)])
    meta.TransferSyntaxUID = syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.preamble = b'\0' * 128
    ds.is_little_endian = syntax != ExplicitVRBigEndian
    ds.is_implicit_VR = syntax == ImplicitVRLittleEndian
    ds.SOPClassUID = SECONDARY_CAPTURE
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = 'Fixture^Graft'
    ds.Modality = 'OT'
    frames = pixels.shape[0] if pixels.ndim == 4 or (photometric.startswith('MONO') and pixels.ndim == 3) else 1
    rgb = photometric == 'RGB'
    ds.SamplesPerPixel = 3 if rgb else 1
    ds.PhotometricInterpretation = photometric
    if rgb:
        ds.PlanarConfiguration = tags.pop('PlanarConfiguration', 0)
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.Rows, ds.Columns = pixels.shape[-3:-1] if rgb else pixels.shape[-2:]
    allocated = 8 if bits_stored == 8 else 16
    ds.BitsAllocated = allocated
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    for k, v in tags.items():
        setattr(ds, k, v)
    dtype = {(8, False): '<u1', (8, True): '<i1', (16, False): '<u2', (16, True): '<i2'}[(allocated, signed)]
    if syntax == ExplicitVRBigEndian:
        dtype = dtype.replace('<', '>')
    raw = pixels.astype(dtype)
    if rgb and ds.PlanarConfiguration == 1:
        raw = np.moveaxis(raw, -1, -3)
    ds.PixelData = raw.tobytes()
    return ds


def gray_expected(ds):
    stored = ds.pixel_array.astype(np.float64)
    if int(ds.get('NumberOfFrames', 1)) > 1:
        stored = stored[0]
    if ds.BitsStored < ds.BitsAllocated:
        # pydicom 2.3's pixel_array keeps the bits above BitsStored as stored; the standard leaves them undefined, so
        # only the low BitsStored bits count, as two's complement when PixelRepresentation is 1.
        stored = stored.astype(np.int64) & ((1 << ds.BitsStored) - 1)
        if ds.PixelRepresentation == 1:
            stored = np.where(stored >= 1 << (ds.BitsStored - 1), stored - (1 << ds.BitsStored), stored)
        stored = stored.astype(np.float64)
    modality = apply_modality_lut(stored, ds).astype(np.float64)
    if 'WindowCenter' in ds:
        lo, hi = 0.0, 2.0 ** ds.BitsStored - 1
        if ds.PixelRepresentation == 1:
            lo, hi = -2.0 ** (ds.BitsStored - 1), 2.0 ** (ds.BitsStored - 1) - 1
        if 'RescaleSlope' in ds and 'RescaleIntercept' in ds:
            lo, hi = lo * ds.RescaleSlope + ds.RescaleIntercept, hi * ds.RescaleSlope + ds.RescaleIntercept
        y = (apply_voi_lut(modality, ds, index=0, prefer_lut=False) - lo) / (hi - lo)
    else:
        y = (modality - modality.min()) / (modality.max() - modality.min())
    return 1.0 - y if ds.PhotometricInterpretation == 'MONOCHROME1' else y


def save(name, ds, expected=None):
    path = name + '.dcm'
    ds.save_as(path, write_like_original=False)
    back = pydicom.dcmread(path)
    if expected is None:
        expected = gray_expected(back) if back.SamplesPerPixel == 1 else back.pixel_array / (2.0 ** back.BitsStored - 1)
    np.save(name + '.npy', np.ascontiguousarray(expected, dtype=np.float64))
    return path


def ints(lo, hi, shape):
    return rng.integers(lo, hi, size=shape, endpoint=True)


# 8-bit unsigned, no window: the stored min..max maps to [0, 1].
save('u8_mono2', dataset(ints(3, 250, (12, 16)), 8, False))
# 12 bits stored in 16, with a rescale and a two-valued window (the first pair is used), implicit VR.
save('u12_window_rescale_implicit', dataset(ints(0, 4095, (16, 20)), 12, False, syntax=ImplicitVRLittleEndian,
                                            RescaleSlope='1.5', RescaleIntercept='-100',
                                            WindowCenter=['2000', '600'], WindowWidth=['2500', '300']))
# 16-bit signed MONOCHROME1 with a rescale and no window, plus an undefined-length sequence to skip.
s16 = dataset(ints(-30000, 30000, (12, 16)), 16, True, photometric='MONOCHROME1',
              RescaleSlope='0.5', RescaleIntercept='-1024')
item = Dataset()
item.ReferencedSOPClassUID = SECONDARY_CAPTURE
item.ReferencedSOPInstanceUID = generate_uid(entropy_srcs=['item'])
s16.ReferencedImageSequence = Sequence([item, item])
s16['ReferencedImageSequence'].is_undefined_length = True
save('s16_mono1_rescale', s16)
# 12 bits signed, stored without sign extension in the upper 4 bits (two's complement in 12 bits), with a window,
# implicit VR with the same undefined-length sequence.
values = ints(-2048, 2047, (12, 16))
s12 = dataset(values & 0x0FFF, 12, False, syntax=ImplicitVRLittleEndian, WindowCenter='100', WindowWidth='1000')
s12.PixelRepresentation = 1
s12.ReferencedImageSequence = Sequence([item])
s12['ReferencedImageSequence'].is_undefined_length = True
save('s12_window_implicit', s12)
# The two other VOI LUT functions.
save('u16_linear_exact', dataset(ints(0, 65535, (12, 16)), 16, False, WindowCenter='30000', WindowWidth='20000',
                                 VOILUTFunction='LINEAR_EXACT'))
save('u16_sigmoid', dataset(ints(0, 65535, (12, 16)), 16, False, WindowCenter='30000', WindowWidth='20000',
                            VOILUTFunction='SIGMOID'))
# A window of width 1: a threshold at center - 0.5.
save('u8_window_width1', dataset(ints(0, 255, (12, 16)), 8, False, WindowCenter='128', WindowWidth='1'))
# Colour, interleaved and planar.
save('rgb8', dataset(ints(0, 255, (12, 16, 3)), 8, False, photometric='RGB'))
save('rgb8_planar', dataset(ints(0, 255, (12, 16, 3)), 8, False, photometric='RGB', PlanarConfiguration=1))
# Two frames: the first is used.
save('u8_two_frames', dataset(ints(0, 255, (2, 12, 16)), 8, False))
# Deflated explicit VR little endian and explicit VR big endian.
save('u16_deflated', dataset(ints(0, 65535, (12, 16)), 16, False, syntax=DeflatedExplicitVRLittleEndian))
save('s16_big_endian', dataset(ints(-1000, 3000, (12, 16)), 16, True, syntax=ExplicitVRBigEndian,
                               WindowCenter='40', WindowWidth='400'))

# JPEG baseline (1.2.840.10008.1.2.4.50) by dcmtk from a smooth 8-bit image (lossy: the expected values are
# pydicom's decoding of the compressed file, through Pillow), grayscale and colour.
yy, xx = np.mgrid[0:32, 0:48]
smooth = (xx * 4 + yy * 2).astype(np.int64)
save('jpeg_source_gray', dataset(smooth, 8, False, WindowCenter='100', WindowWidth='120'))
subprocess.run(['dcmcjpeg', '+eb', 'jpeg_source_gray.dcm', 'jpeg_baseline_gray.dcm'], check=True)
save('jpeg_baseline_gray', pydicom.dcmread('jpeg_baseline_gray.dcm'))
smooth_rgb = np.stack([smooth, 255 - smooth, (smooth // 2 + 40)], axis=-1)
save('jpeg_source_rgb', dataset(smooth_rgb, 8, False, photometric='RGB'))
subprocess.run(['dcmcjpeg', '+eb', 'jpeg_source_rgb.dcm', 'jpeg_baseline_rgb.dcm'], check=True)
rgb = pydicom.dcmread('jpeg_baseline_rgb.dcm')
# dcmtk writes YBR_FULL_422; pydicom's pixel_array keeps YBR (it asks Pillow not to convert), so convert to RGB here.
save('jpeg_baseline_rgb', rgb, expected=pydicom.pixel_data_handlers.convert_color_space(
    rgb.pixel_array, rgb.PhotometricInterpretation, 'RGB') / 255.0
    if rgb.PhotometricInterpretation != 'RGB' else rgb.pixel_array / 255.0)
for f in ['jpeg_source_gray', 'jpeg_source_rgb']:
    os.remove(f + '.dcm')
    os.remove(f + '.npy')

# JPEG lossless (dcmtk; decoded since TwelveMonkeys was adopted) and JPEG 2000 lossless (gdcm; refused with advice).
subprocess.run(['dcmcjpeg', '+el', 'u12_window_rescale_implicit.dcm', 'jpeg_lossless.dcm'], check=True)
subprocess.run(['gdcmconv', '--j2k', 'u8_mono2.dcm', 'jpeg2000.dcm'], check=True)

# JPEG lossless and 12-bit extended, decoded through TwelveMonkeys' reader. pydicom 2.3 here has no handler for
# lossless JPEG (no gdcm or pylibjpeg module), so the expected values of a lossless file are pydicom's decoding of
# the uncompressed file it was made from: lossless must give the same stored values. dcmdjpeg (dcmtk's own decoder)
# decompresses each one back and its pixel data is checked equal to the source's here, so the files are truly lossless.
def lossless(source, name, *options):
    subprocess.run(['dcmcjpeg', *options, source + '.dcm', name + '.dcm'], check=True)
    subprocess.run(['dcmdjpeg', name + '.dcm', name + '_back.dcm'], check=True)
    back = pydicom.dcmread(name + '_back.dcm')
    assert np.array_equal(back.pixel_array, pydicom.dcmread(source + '.dcm').pixel_array), name
    os.remove(name + '_back.dcm')
    np.save(name + '.npy', np.load(source + '.npy'))


# 12-bit with rescale and window, process 14 selection value 6 (.57); the refusal fixture of old, kept by name.
lossless('u12_window_rescale_implicit', 'jpeg_lossless', '+el')
# 8-bit MONOCHROME2, first-order prediction (.70).
lossless('u8_mono2', 'jpeg_lossless_sv1_u8', '+e1')
# 16-bit signed MONOCHROME1 with a rescale (.70): the JPEG holds the two's complement bit patterns.
lossless('s16_mono1_rescale', 'jpeg_lossless_sv1_s16_mono1', '+e1')
# 16-bit signed with a window (from the big endian file), selection value 1 of process 14 written as .57.
lossless('s16_big_endian', 'jpeg_lossless_s16_window', '+el', '+sv', '1')
# RGB, 8-bit, .70 (lossless keeps RGB: no YBR conversion).
lossless('rgb8', 'jpeg_lossless_rgb8', '+e1')
# JPEG extended (.51, process 2 and 4): 8-bit (the JDK's reader decodes it; expected values are pydicom's decoding
# through Pillow) and 12-bit, which neither the JDK's reader nor TwelveMonkeys' decodes: the refusal fixture.
save('jpeg_source_u8', dataset(smooth, 8, False))
subprocess.run(['dcmcjpeg', '+ee', 'jpeg_source_u8.dcm', 'jpeg_extended_u8.dcm'], check=True)
save('jpeg_extended_u8', pydicom.dcmread('jpeg_extended_u8.dcm'))
smooth12 = (xx * 80 + yy * 40).astype(np.int64)
save('jpeg_source_u12', dataset(smooth12, 12, False))
subprocess.run(['dcmcjpeg', '+ee', 'jpeg_source_u12.dcm', 'jpeg_extended_u12.dcm'], check=True)
for f in ['jpeg_source_u8', 'jpeg_source_u12']:
    os.remove(f + '.dcm')
    os.remove(f + '.npy')

# For the runtime jar's end-to-end test (tests/.../ExportCommandTest): the 40 x 30 ramp of its DicomBytes.gray8
# file ((i % 40) * 5 + i // 40), 8-bit MONOCHROME2 with the window center 128 / width 256 that maps v to v / 255,
# as lossless JPEG (.70): it must classify exactly as the uncompressed file of the same values.
ramp = np.array([(i % 40) * 5 + i // 40 for i in range(40 * 30)]).reshape(30, 40)
save('ramp_source', dataset(ramp, 8, False, WindowCenter='128', WindowWidth='256'))
lossless('ramp_source', 'jpeg_lossless_ramp', '+e1')
os.remove('ramp_source.dcm')
os.remove('ramp_source.npy')

# RLE Lossless (1.2.840.10008.1.2.5) by dcmtk; pydicom 2.3 decodes RLE itself (numpy), so the expected values are its
# decoding of the compressed file.
for source in ['u8_mono2', 'u12_window_rescale_implicit', 's16_mono1_rescale', 'rgb8', 'u8_two_frames']:
    subprocess.run(['dcmcrle', source + '.dcm', 'rle_' + source + '.dcm'], check=True)
    save('rle_' + source, pydicom.dcmread('rle_' + source + '.dcm'))
