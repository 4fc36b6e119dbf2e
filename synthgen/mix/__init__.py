"""``synthgen mix``: the sim-to-real exporter.

Reads synthgen datasets and real datasets, harmonises their labels, samples them into training
and validation splits and writes one COCO file per split, a manifest and a report.

Command line
------------
::

    synthgen mix [--config MIX.yaml] SOURCE [MODIFIER...] [SOURCE [MODIFIER...]...] -o OUT [OPTIONS]

Sources (repeatable, in any number)::

    --synthetic OUT[:W]   a synthgen dataset folder (manifest.jsonl and
                          annotations/coco_<split>.json), optional weight W
    --coco JSON           a COCO keypoints / instances file
    --wholebody JSON      a COCO-WholeBody file (133 keypoints)
    --bop DIR             a BOP dataset folder (<split>/<scene>/scene_gt*.json, rgb/, mask_visib/),
                          one split (``lmo/test``) or one scene (``lmo/test/000002``); real BOP
                          scenes as shipped (JPEG or PNG rgb/, no masks or depth needed; boxes
                          from mask_visib/ else scene_gt_info.json, one of them required)
    --manifest FILE       a JSONL manifest in synthgen's manifest schema
    --lsp FILE.mat        an LSP or LSPET ``joints.mat`` (14 joints, one person per image;
                          images ``im0001.jpg`` / ``im00001.jpg``, see :mod:`.sources.lsp`)
    --mpii JSON|MAT       MPII Human Pose as mmpose's JSON list (16 joints, one item per
                          person) or MPII's release ``mpii_human_pose_v1_u12_1.mat`` (annotated
                          training persons; see :mod:`.sources.mpii`)

Modifiers apply to the source named just before them::

    --images DIR (--image-root DIR)  image root: coco/wholebody default the JSON's folder,
                          manifest default the manifest's folder, lsp default ``images/``
                          beside the .mat, mpii ``images/`` beside the JSON's folder (mmpose's
                          layout) else its folder (synthetic/bop: the dataset)
    --weight W            sampling weight (default 1)
    --count N             take exactly N images of it (all sources of its split, or none)
    --split NAME          output split it feeds (default ``train``)
    --from-split NAME     read only this split of it (synthetic, bop, manifest)
    --name NAME           its name (``source_name`` field, ``images/<name>/``, report)
    --keypoints SCHEMA    coco17 | wholebody133 | crowdpose14 | lsp14 | mpii16 |
                          name1,name2,... (default: the ``keypoints`` list of the file's
                          category; lsp: lsp14; mpii: mpii16)
    --as real|synthetic   how it counts (default: synthetic for --synthetic, else real)

``--images`` is both a modifier and the image-mode option: a mode word (``relative``,
``absolute``, ``symlink``, ``copy``) sets the mode wherever it stands, anything else is the image
root of the source before it (write ``./copy`` for a folder named ``copy``, or use
``--image-root`` / ``--image-mode``).

Options::

    -o OUT                output folder (required; written atomically)
    --overwrite           replace a non-empty OUT
    --seed N              sampling seed (default 0)
    --total N             images per training split
    --synthetic-ratio R   fraction of synthetic images in each training split
    --replacement         sample with replacement (default without)
    --curriculum F        write ``pretrain`` (synthetic only) and ``finetune`` (all real + synthetic
                          images making up the fraction F of it) instead of ``train``
    --images MODE / --image-mode MODE   relative (default) | absolute | symlink | copy
    --category-map FILE   YAML/JSON ``{name: new_name}``; ``null`` drops the category
    --skip-bad            drop bad entries and count them in the report instead of failing
    --wholebody-fields keep|drop   keep (default) or strip the COCO-WholeBody part fields
    -q                    no table on stdout

Example::

    synthgen mix --synthetic out/kitchen:1 --coco person_keypoints_train.json --images train2017/ \\
        --coco person_keypoints_val.json --images val2017/ --split val \\
        --synthetic-ratio 0.5 --total 20000 --seed 1 --images symlink -o mixes/kitchen_coco

The same as a config (``--config mix.yaml``; relative paths resolve against the config's folder;
unknown keys are one-line errors naming the key and the file)::

    output: mixes/kitchen_coco
    seed: 1
    total: 20000
    synthetic_ratio: 0.5
    images: symlink            # relative | absolute | symlink | copy
    replacement: false
    curriculum: null           # or a fraction F
    category_map: {mug: cup}   # or a file path
    skip_bad: false
    wholebody_fields: keep
    sources:
      - {type: synthetic, path: out/kitchen, weight: 1}
      - {type: coco, path: person_keypoints_train.json, images: train2017/}
      - {type: coco, path: person_keypoints_val.json, images: val2017/, split: val}
      # per source also: name, count, from_split, keypoints, as; types: synthetic, coco,
      # wholebody, bop, manifest, lsp, mpii

Mixing
------
Splits named ``val*`` or ``test*`` are real only (a synthetic source there is an error), take all
their images (or ``count``, without replacement) and may share no image with a training split.
A training split takes per-source counts, else ``round(total * R)`` synthetic and the rest real
(without ``--total``: the largest total the sources allow without replacement), else ``--total``
shared by weight, else every image once; inside a group images are shared by weight. Sampling is
seeded per (seed, split, source); without replacement a quota larger than a source is an error.
See :mod:`synthgen.mix.plan`.

Labels
------
Keypoints become COCO-17 by name (:mod:`synthgen.mix.keypoints`): WholeBody-133's body rows are
copied bit-exact, a CrowdPose-style 14-point set keeps its 12 body joints, COCO-17 points it lacks
(nose, eyes, ears) are written ``[0, 0, 0]``, and ``head``/``neck`` are dropped; LSP's 14 joints
(``lsp14``) keep the same 12 and drop ``neck``/``head_top``, MPII's 16 (``mpii16``) keep them
and drop ``pelvis``/``thorax``/``upper_neck``/``head_top``; the report lists both. Annotations without keypoints get zero ``keypoints`` and ``num_keypoints`` 0 (so keypoint
tools ignore them). Categories are unified by name after ``--category-map``: ``person`` is id 1
with COCO-17's keypoints and skeleton, other names follow in order of first appearance. Image and
annotation ids are renumbered 1.. across all output files (no collisions). Every other field of a
real annotation is kept as read, and two are added where missing, because COCOeval and xtcocotools
index them on every annotation: ``area``, the pixel count of the segmentation
(``pycocotools.mask.area`` of its polygons merged, or of its RLE) or, without one, the box's
``w * h``, as COCO's converters and ``COCO.loadRes`` do; and ``bbox``, the segmentation's
``pycocotools.mask.toBbox`` (an annotation with neither box nor segmentation is a bad entry).
COCO-WholeBody fields (``foot_kpts``, ``face_kpts``, ``lefthand_kpts``, ``righthand_kpts``,
``*_box``, ``*_valid``) are on every annotation of an output file or on none: when any
annotation of a file has them (a WholeBody or synthgen source; ``--wholebody-fields keep``), the
others get them as COCO-WholeBody writes an invalid part (zeros, ``*_valid`` false); the report
counts them per split (``wholebody_fields_completed``). ``--wholebody-fields drop`` removes them
from every annotation. Every image gets ``split``, ``source`` (real|synthetic) and
``source_name``; real COCO images also ``source_image_id`` and ``source_file_name`` (LSP images:
the 1-based index in ``joints.mat`` and ``im<k>.jpg``; MPII images: the numeric file stem and
the ``image`` name); licences are merged by (name, url).

An LSP/LSPET or MPII person's ``bbox`` is its labelled joints' tight box clipped to the image,
``area`` its ``w * h`` (no segmentation); LSPET's flag and MPII's JSON ``joints_vis`` only say
*labelled* (v=2; unlabelled ``[0, 0, 0]``), LSP's flag and the MPII .mat's ``is_visible`` say
*occluded* (visible -> v=2, occluded -> v=1);
coordinates are kept as read; MPII's ``center``/``scale`` stay on the annotation as read.

Output
------
::

    OUT/annotations/coco_<split>.json   merged COCO per output split
    OUT/manifest.jsonl                  synthgen's manifest schema, "source": "real"|"synthetic",
                                        sorted by (split, scene_id, im_id), its unique key: the
                                        source's index in the mix and the image's COCO id; plus
                                        "source_name", "image_id" (the COCO id) and the source's
                                        own "source_scene_id", "source_im_id" (-1 where a field
                                        does not apply: a photo has no scene or view)
    OUT/mix_report.json                 counts per split and source, keypoint visibility per
                                        source, keypoint mappings, bad entries skipped
    OUT/images/<source>/...             only with --images symlink|copy

Bad entries (a missing image, a keypoint list of the wrong length, a duplicate id, a keypoint,
box, area or polygon value that is NaN, infinite or not a number, ...; see
:mod:`synthgen.mix.sources`) are a one-line error naming the file and the entry, or with
``--skip-bad`` dropped with their image and counted in the report.

Every image path read from an input (COCO ``file_name``, manifest ``image``, BOP ``rgb/`` files,
LSP ``im<k>.jpg``, MPII ``image``; symbolic links followed) must resolve inside its image root
(``--images``, else the default named above; the dataset folder for synthetic, the folder given
for bop): one that leads out (``..``, an absolute path elsewhere, a link) is a one-line error
naming the file and the entry, even with ``--skip-bad``, in every image mode.

``file_name`` (and the manifest's ``image``) always resolves from OUT: ``OUT / file_name`` is the
image (see :mod:`synthgen.mix.output` for the four modes).

Wiring: :func:`add_mix_arguments` adds these arguments to an argparse parser and
:func:`run_mix` runs them and returns the exit code (0; 2 for bad input, one line on stderr and
nothing written; 1 when writing fails). ``python -m synthgen.mix`` runs it standalone.
"""
from synthgen.mix.cli import add_mix_arguments, config_from_args, mix, run_mix
from synthgen.mix.config import MixConfig, MixError, SourceSpec, load_mix_config

__all__ = ["MixConfig", "MixError", "SourceSpec", "add_mix_arguments", "config_from_args",
           "load_mix_config", "mix", "run_mix"]
