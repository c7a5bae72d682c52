"""The parts of the Photon-HDF5 0.5 specification that tagstream writes and reads, kept as data.

Every official field carries its description in the ``TITLE`` attribute, word for word as the
specification (and phconvert's validator) has it. Field paths are absolute; ``photon_data`` is
the single-spot group. tagstream's own data live under :data:`TAGSTREAM_GROUP`, which the
specification leaves free (``/user``).

Reference: https://photon-hdf5.readthedocs.io/en/latest/phdata.html
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

#: The HDF5 superblock signature (a Photon-HDF5 file is an HDF5 file); it sits at byte 0 or, after
#: a user block, at 512, 1024, 2048, ...
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"

FORMAT_NAME = "Photon-HDF5"
FORMAT_VERSION = "0.5"
FORMAT_URL = "http://photon-hdf5.org/"

#: Root attributes that mark a Photon-HDF5 file.
ROOT_ATTRIBUTES: dict[str, str] = {
    "format_name": FORMAT_NAME,
    "format_version": FORMAT_VERSION,
    "format_url": FORMAT_URL,
}

#: The only measurement type that fits an HBT experiment (no FRET, no alternation).
MEASUREMENT_TYPE = "generic"

#: Label of the detector entry that carries the laser sync.
SYNC_LABEL = "sync"


class Kind(StrEnum):
    """What an HDF5 node holds."""

    GROUP = "group"
    ARRAY = "array"
    SCALAR = "scalar"
    STRING = "string"


@dataclass(frozen=True, slots=True)
class Field:
    """One official field: its description (the ``TITLE`` attribute) and its kind."""

    description: str
    kind: Kind


_G, _A, _S, _T = Kind.GROUP, Kind.ARRAY, Kind.SCALAR, Kind.STRING

FIELDS: dict[str, Field] = {
    "/": Field(
        "A file format for photon-counting detector based single-molecule spectroscopy "
        "experiments.",
        _G,
    ),
    "/acquisition_duration": Field("Measurement duration in seconds.", _S),
    "/description": Field("A user-defined comment describing the data file.", _T),
    "/format_name": Field("Name of the file format.", _T),
    "/format_version": Field("Version for the Photon-HDF5 format.", _T),
    # ---------------------------------------------------------------- photon data
    "/photon_data": Field("Group containing arrays of photon-data.", _G),
    "/photon_data/timestamps": Field(
        "Array of photon timestamps. Units specified in timestamps_units (defined in "
        "timestamps_specs/).",
        _A,
    ),
    "/photon_data/detectors": Field("Array of pixel IDs for each timestamp.", _A),
    "/photon_data/nanotimes": Field(
        "TCSPC photon arrival time (nanotimes). Units and other specifications are in "
        "nanotimes_specs group.",
        _A,
    ),
    "/photon_data/timestamps_specs": Field("Specifications for timestamps.", _G),
    "/photon_data/timestamps_specs/timestamps_unit": Field(
        "Value of 1-unit timestamp-increment in seconds.", _S
    ),
    "/photon_data/nanotimes_specs": Field("Group for nanotime-specific data.", _G),
    "/photon_data/nanotimes_specs/tcspc_unit": Field(
        "Value of 1-unit nanotime-increment in seconds (TCSPC bin size).", _S
    ),
    "/photon_data/nanotimes_specs/tcspc_num_bins": Field("Number of TCSPC bins.", _S),
    "/photon_data/nanotimes_specs/tcspc_range": Field("TCSPC full-scale range in seconds.", _S),
    "/photon_data/measurement_specs": Field(
        "Metadata necessary for interpretation of the particular type of measurement.", _G
    ),
    "/photon_data/measurement_specs/measurement_type": Field(
        "Name of the measurement the data represents.", _T
    ),
    "/photon_data/measurement_specs/laser_repetition_rate": Field(
        "Repetition rate of the pulsed excitation laser (in Hertz).", _S
    ),
    "/photon_data/measurement_specs/detectors_specs": Field(
        "Mapping between the pixel IDs and the detection channels.", _G
    ),
    "/photon_data/measurement_specs/detectors_specs/split_ch1": Field(
        "Pixel IDs for the first channel split through a non-polarizing beam splitter.", _A
    ),
    "/photon_data/measurement_specs/detectors_specs/split_ch2": Field(
        "Pixel IDs for the second channel split through a non-polarizing beam splitter.", _A
    ),
    "/photon_data/measurement_specs/detectors_specs/non_photon_id1": Field(
        "Detector ids of non photon events as they apppear in /photon_data/detectors", _A
    ),
    # ---------------------------------------------------------------- setup
    "/setup": Field("Information about the experimental setup.", _G),
    "/setup/num_pixels": Field("Total number of detector pixels.", _S),
    "/setup/num_spots": Field('Number of excitation (or detection) "spots" in the sample.', _S),
    "/setup/num_spectral_ch": Field("Number of distinct spectral bands which are acquired.", _S),
    "/setup/num_polarization_ch": Field(
        "Number of distinct polarization states which are acquired.", _S
    ),
    "/setup/num_split_ch": Field(
        "Number of distinct detection channels detecting the same spectral band and "
        "polarization. This value is > 1 when using a non-polarizing beam splitter.",
        _S,
    ),
    "/setup/modulated_excitation": Field(
        "True (i.e. 1) if there is any form of excitation modulation of excitation wavelength "
        "(as in us-ALEX or PAX) or polarization. This field is also True for pulse-interleaved "
        "excitation (PIE) or ns-ALEX measurements.",
        _S,
    ),
    "/setup/excitation_alternated": Field(
        "New in version 0.5. Indicates whether each excitation source is alternated (True, or "
        "1) or not alternated (False, or 0).",
        _A,
    ),
    "/setup/lifetime": Field(
        "True (i.e. 1) if the measurement includes a nanotimes array of photon arrival times "
        "with respect to a laser pulse (as in TCSPC measurements).",
        _S,
    ),
    "/setup/excitation_cw": Field(
        "For each excitation source, this field indicates whether excitation is continuous "
        "wave (CW), True (i.e. 1), or pulsed, False (i.e. 0).",
        _A,
    ),
    "/setup/laser_repetition_rates": Field(
        "Repetition rates in Hz for each laser. CW lasers have a value of 0.", _A
    ),
    "/setup/detectors": Field(
        "Metadata relative to each detector's pixel. Each field is an array with size equal "
        "to the number of the detectors.",
        _G,
    ),
    "/setup/detectors/id": Field("Detector IDs as they appear on /photon_data/detectors.", _A),
    "/setup/detectors/label": Field("Labels (strings) describing each detector.", _A),
    "/setup/detectors/counts": Field("Total number of counts detected by each detector.", _A),
    # ---------------------------------------------------------------- identity
    "/identity": Field("Information about the Photon-HDF5 data file.", _G),
    "/identity/filename": Field(
        "Original file name of the current Photon-HDF5 file (i.e. file name at creation time).",
        _T,
    ),
    "/identity/filename_full": Field(
        "Original file name (with full path) of the current Photon-HDF5 file (i.e. full file "
        "name at creation time).",
        _T,
    ),
    "/identity/creation_time": Field("Creation time of the current Photon-HDF5 file.", _T),
    "/identity/software": Field(
        "Name of the software used to create the current Photon-HDF5 file.", _T
    ),
    "/identity/software_version": Field(
        "Version of the software used to create current the Photon-HDF5 file.", _T
    ),
    "/identity/format_name": Field("Name of the file format.", _T),
    "/identity/format_version": Field("Version for the Photon-HDF5 format.", _T),
    "/identity/format_url": Field("Official URL for the Photon-HDF5 format.", _T),
}

#: Fields of /setup that every file must have.
SETUP_REQUIRED: tuple[str, ...] = (
    "num_pixels",
    "num_spots",
    "num_spectral_ch",
    "num_polarization_ch",
    "num_split_ch",
    "modulated_excitation",
    "lifetime",
    "excitation_alternated",
)

#: Fields of /identity that every file must have.
IDENTITY_REQUIRED: tuple[str, ...] = (
    "format_name",
    "format_version",
    "format_url",
    "software",
    "software_version",
    "creation_time",
)

#: What a reader cannot do without, in the order it looks for them.
READ_REQUIRED: tuple[str, ...] = (
    "/photon_data",
    "/photon_data/timestamps",
    "/photon_data/timestamps_specs/timestamps_unit",
)

#: What a reader needs in addition when the file has nanotimes (T3).
READ_REQUIRED_T3: tuple[str, ...] = ("/photon_data/nanotimes_specs/tcspc_unit",)

# ---------------------------------------------------------------- tagstream's own fields
TAGSTREAM_GROUP = "/user/tagstream"
#: Version of the layout under :data:`TAGSTREAM_GROUP` (an attribute of that group).
TAGSTREAM_LAYOUT_VERSION = 2
USER_METADATA = "metadata"  # JSON of RunMetadata.to_dict()
USER_CONFIG = "config"  # the run's config text
USER_GAPS = "gaps"  # int64 (k, 2), ps: lost time of the whole run
USER_SPAN = "span"  # int64 [t_begin, t_end], ps (layout 1; layout 2 keeps it in "committed")
USER_TRUTH = "truth"  # group: names, starts, states, end (the simulator's state timeline)
USER_COMMITTED = "committed"  # int64 record of what the last flush made final, see below
USER_STATUS = "status"  # "recording", "complete" or "stopped: <reason>"
USER_RESULTS = "results"  # group: one subgroup per result series

#: Leading entries of the ``committed`` record; one entry per result series follows
#: (``results/<name>``: snapshots committed). Its ``fields`` attribute names every entry.
COMMITTED_FIELDS: tuple[str, ...] = ("tags", "gaps", "t_begin_ps", "t_end_ps")

STATUS_RECORDING = "recording"
STATUS_COMPLETE = "complete"
STATUS_STOPPED = "stopped"


def description(path: str) -> str:
    """The official description of the field at ``path``."""
    return FIELDS[path].description
