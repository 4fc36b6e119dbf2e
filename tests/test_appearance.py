"""Procedural person appearance (synthgen.scene.appearance): seeded outfits, the UV painting by
body region, skin tones, patterns, shells. The Anny body is built once per module; the tests that
need it skip when Anny's model cache is missing."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from synthgen.errors import InputError
from synthgen.scene import appearance as A
from synthgen.scene.appearance import (Garment, body_surface, garment_shells, hair_shell, hair_shell_vertex_ids,
                                       linear_to_srgb, luminance, outfit_record, paint, roughness_texture,
                                       sample_outfit, texel_maps)

SIZE = 512


@pytest.fixture(scope="module")
def body():
    try:
        from synthgen.bodies.anny_backend import AnnyBody, cache_dir, cache_is_built
    except ImportError as e:                                    # pragma: no cover - anny is a dependency
        pytest.skip(f"anny is not installed ({e})")
    if not cache_is_built():
        pytest.skip(f"Anny's model cache is missing in {cache_dir()} (build it with `synthgen setup`)")
    return AnnyBody()


@pytest.fixture(scope="module")
def surface(body):
    return body_surface(body)


@pytest.fixture(scope="module")
def maps(surface):
    return texel_maps(surface, SIZE)


def _srgb(c) -> np.ndarray:
    return linear_to_srgb(c) * 255.0


def _garment(kind, colour, params, pattern="solid", colour2=(0.9, 0.9, 0.9)) -> Garment:
    return Garment(kind=kind, colour=tuple(colour), colour2=tuple(colour2), pattern=pattern,
                   params=tuple(params.items()), roughness=0.8)


GREEN, RED, BLUE = (0.04, 0.45, 0.04), (0.5, 0.03, 0.03), (0.03, 0.05, 0.5)
TOP = {"sleeve": 0.5, "hem": 0.1, "tucked": 0.0, "neck_depth": 0.0, "neck_width": 0.0, "v_neck": 0.0}
TROUSERS = {"waist": -0.35, "length": 1.95, "belt": 0.0}
SHOES = {"top": 1.93, "sole_m": 0.02}


def _dressed(top="tshirt", bottom="trousers", length=1.95, shoes=True, seed=0, sleeve=0.5) -> A.Outfit:
    """A drawn outfit with known solid garments put in (green top, red bottom, blue shoes)."""
    o = sample_outfit(np.random.default_rng(seed), "office")
    return replace(
        o, top=None if top is None else _garment(top, GREEN, {**TOP, "sleeve": sleeve}),
        bottom=_garment(bottom, RED, {**TROUSERS, "length": length}),
        shoes=_garment("shoes", BLUE, SHOES) if shoes else None, gloves=None, apron=None)


def _median(tex: np.ndarray, sel: np.ndarray) -> np.ndarray:
    assert sel.sum() >= 20, "too few texels selected"
    return np.median(tex.reshape(-1, 3)[sel.reshape(-1)].astype(float), axis=0)


def _torso_front(maps) -> np.ndarray:
    lm = maps.landmarks
    P, N = maps.pos, maps.nrm
    return maps.covered & (maps.seg == A.SEG_BODY) & (np.abs(P[..., 0] - lm["mid_x"]) < 0.03) & \
        (np.abs(P[..., 1] - lm["joints"][6, 1]) < 0.03) & (N[..., 2] > 0.8)


def _near(got, colour, tol=22.0) -> bool:
    return bool(np.abs(got - _srgb(colour)).max() < tol)


# ---------------------------------------------------------------------------------------------

def test_bad_setting_is_one_clear_input_error():
    with pytest.raises(InputError) as e:
        sample_outfit(np.random.default_rng(0), "garage")
    assert e.value.exit_code == 2
    msg = str(e.value)
    assert "setting" in msg and "'garage'" in msg and "kitchen" in msg and "\n" not in msg


def test_rasteriser_covers_a_quad_with_v_up():
    uv = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    tri, bary = A._rasterise(uv, np.array([[0, 1, 2], [0, 2, 3]]), 16)
    assert (tri >= 0).all()
    # the triangle (0, 2, 3) holds the upper-left half in v-up terms: the top rows' left texels
    assert tri[0, 0] == 1 and tri[15, 15] == 0
    # barycentric weights reproduce the texel centre: row r, column c -> u=(c+.5)/16, v=1-(r+.5)/16
    r, c = 3, 12
    w = bary[r, c]
    assert np.allclose(w @ uv[[0, 1, 2]] if tri[r, c] == 0 else w @ uv[[0, 2, 3]], [(c + 0.5) / 16, 1 - (r + 0.5) / 16])


def test_same_seed_same_bytes_and_record(surface):
    a = sample_outfit(np.random.default_rng(41), "kitchen")
    b = sample_outfit(np.random.default_rng(41), "kitchen")
    assert a == b
    assert json.dumps(outfit_record(a), sort_keys=True) == json.dumps(outfit_record(b), sort_keys=True)
    ta, tb = paint(surface, a, SIZE), paint(surface, b, SIZE)
    assert ta.shape == (SIZE, SIZE, 3) and ta.dtype == np.uint8
    assert ta.tobytes() == tb.tobytes()
    assert roughness_texture(surface, a, SIZE).tobytes() == roughness_texture(surface, b, SIZE).tobytes()


def test_different_persons_differ(surface):
    rng = np.random.default_rng(41)
    a, b = sample_outfit(rng, "kitchen"), sample_outfit(rng, "kitchen")
    assert outfit_record(a) != outfit_record(b)
    ta, tb = paint(surface, a, SIZE), paint(surface, b, SIZE)
    differ = (np.abs(ta.astype(int) - tb.astype(int)).max(-1) > 10).mean()
    assert differ > 0.3, differ
    # another draw from another seed differs as well
    assert outfit_record(sample_outfit(np.random.default_rng(42), "kitchen")) != outfit_record(a)


def test_record_is_json_and_names_what_is_worn():
    rng = np.random.default_rng(5)
    recs = [outfit_record(sample_outfit(rng, s)) for s in ("any", "kitchen", "workshop", "office") for _ in range(40)]
    for r in recs:
        json.loads(json.dumps(r))
        assert r["top"]["kind"] in A.TOP_KINDS and r["bottom"]["kind"] in A.BOTTOM_KINDS
        assert r["hair"]["style"] in A.HAIR_STYLES and r["skin"]["group"] in A.ITA_GROUPS
        for g in ("top", "bottom", "apron", "shoes", "gloves"):
            if r[g] and r[g].get("kind") != "none":
                assert r[g]["pattern"] in A.PATTERNS and 0.0 <= r[g]["roughness"] <= 1.0
    kitchen = [r for r in recs if r["setting"] == "kitchen"]
    workshop = [r for r in recs if r["setting"] == "workshop"]
    office = [r for r in recs if r["setting"] == "office"]
    assert sum(r["apron"] is not None for r in kitchen) > 15            # aprons mostly in kitchens
    assert sum(r["gloves"] is not None and r["gloves"]["kind"] == "work" for r in workshop) > 12
    assert all(r["apron"] is None and r["gloves"] is None for r in office)


def test_skin_tones_span_the_range():
    rng = np.random.default_rng(0)
    skins = [sample_outfit(rng).skin for _ in range(200)]
    Y = np.array([luminance(s.colour) for s in skins])
    # measured facial albedo runs from Y ~0.36 (ITA 62 deg) to ~0.034 (ITA -75 deg): a draw of 200
    # reaches near both ends, a factor of more than five apart
    assert Y.min() < 0.06 and Y.max() > 0.28 and Y.max() / Y.min() > 5.0, (Y.min(), Y.max())
    groups = {s.group for s in skins}
    assert {"light", "intermediate", "tan", "brown", "dark"} <= groups
    # the group follows the albedo: darker tones never get a lighter ITA class
    order = {g: i for i, g in enumerate(A.ITA_GROUPS)}
    by_y = sorted(skins, key=lambda s: -luminance(s.colour))
    assert order[by_y[0].group] <= 1 and order[by_y[-1].group] == 5


def test_lips_are_redder_than_the_cheek_at_both_ends_of_the_range(surface, maps):
    lm = maps.landmarks
    P = maps.pos
    lips = np.zeros(SIZE * SIZE, bool)
    idx, w = maps.masks["lips"]
    lips[idx[w > 0.8]] = True
    eye = lm["eye_l"]
    cheek = maps.covered & (maps.seg == A.SEG_HEAD) & (maps.joint == 15) & (np.abs(P[..., 0] - eye[0]) < 0.012) & \
        (P[..., 1] < eye[1] - 0.025) & (P[..., 1] > eye[1] - 0.045) & (maps.nrm[..., 2] > 0.5)
    for anchor in (A.SKIN_ANCHORS[0], A.SKIN_ANCHORS[-1]):
        o = _dressed()
        o = replace(o, skin=replace(o.skin, colour=tuple(anchor)))
        tex = paint(surface, o, SIZE).astype(float)
        lip, chk = _median(tex, lips.reshape(SIZE, SIZE)), _median(tex, cheek)
        assert lip[0] / lip[1] > 1.15 * chk[0] / chk[1], (lip, chk)       # redder
        assert luminance(lip / 255) < luminance(chk / 255)                # and darker
        assert _near(chk, np.asarray(anchor), 30)                        # the cheek is the skin tone


def test_top_covers_the_torso_front_and_bare_skin_without(surface, maps):
    torso = _torso_front(maps)
    dressed = paint(surface, _dressed(), SIZE)
    assert _near(_median(dressed, torso), GREEN)
    bare_outfit = _dressed(top=None)
    bare = paint(surface, bare_outfit, SIZE)
    got = _median(bare, torso)
    assert _near(got, bare_outfit.skin.colour, 30) and not _near(got, GREEN, 60)


def test_sleeves_end_where_the_cut_says(surface, maps):
    upper = maps.covered & (maps.panel == 1) & (np.abs(maps.arm - 0.3) < 0.05)
    forearm = maps.covered & (maps.panel == 1) & (np.abs(maps.arm - 1.5) < 0.05)
    short = paint(surface, _dressed(sleeve=0.6), SIZE)
    long = paint(surface, _dressed(top="longsleeve", sleeve=1.95), SIZE)
    o = _dressed()
    assert _near(_median(short, upper), GREEN) and _near(_median(short, forearm), o.skin.colour, 30)
    assert _near(_median(long, forearm), GREEN)


def test_trousers_cover_the_shin_shorts_do_not_and_shoes_colour_the_feet(surface, maps):
    shin = maps.covered & (maps.panel == 2) & (np.abs(maps.leg - 1.5) < 0.08) & (maps.nrm[..., 2] > 0.5)
    lm = maps.landmarks
    sole = np.where(maps.side > 0, lm["sole_y"]["left"], lm["sole_y"]["right"])
    foot_top = maps.covered & (maps.seg == A.SEG_FOOT) & (maps.pos[..., 1] > sole + 0.04) & (maps.nrm[..., 1] > 0.3)
    trousers = paint(surface, _dressed(), SIZE)
    shorts_outfit = _dressed(bottom="shorts", length=0.5, shoes=False)
    shorts = paint(surface, shorts_outfit, SIZE)
    assert _near(_median(trousers, shin), RED)
    assert _near(_median(shorts, shin), shorts_outfit.skin.colour, 30)
    assert _near(_median(trousers, foot_top), BLUE)
    assert _near(_median(shorts, foot_top), shorts_outfit.skin.colour, 30)   # barefoot
    # the sole is the shoe's second colour
    bottom = maps.covered & (maps.seg == A.SEG_FOOT) & (maps.pos[..., 1] < sole + 0.008)
    assert _near(_median(trousers, bottom), (0.9, 0.9, 0.9))


def test_stripes_change_periodically_with_height(surface, maps):
    period, duty = 0.04, 0.5
    o = _dressed()
    stripes = _garment("tshirt", (0.02, 0.02, 0.02), {**TOP, "period": period, "duty": duty, "vertical": 0.0},
                       pattern="stripes", colour2=(0.85, 0.85, 0.85))
    tex = paint(surface, replace(o, top=stripes), SIZE)
    lm = maps.landmarks
    y0, y1 = lm["joints"][3, 1], lm["joints"][9, 1]
    col = maps.covered & (maps.seg == A.SEG_BODY) & (np.abs(maps.pos[..., 0] - lm["mid_x"]) < 0.02) & \
        (maps.nrm[..., 2] > 0.7) & (maps.pos[..., 1] > y0) & (maps.pos[..., 1] < y1)
    y = maps.pos[..., 1][col]
    light = tex.reshape(-1, 3)[col.reshape(-1)].mean(1) > 128
    order = np.argsort(y)
    y, light = y[order], light[order]
    # bin by height (2 mm) and count light/dark switches: two per period
    bins = np.round((y - y0) / 0.002).astype(int)
    per_bin = np.array([light[bins == b].mean() > 0.5 for b in np.unique(bins)])
    switches = int(np.abs(np.diff(per_bin.astype(int))).sum())
    expected = 2 * (y1 - y0) / period
    assert abs(switches - expected) <= 2.5, (switches, expected)
    assert abs(light.mean() - duty) < 0.12


def test_roughness_texture_follows_the_garments(surface, maps):
    o = _dressed()
    rough = roughness_texture(surface, o, SIZE)
    assert rough.shape == (SIZE, SIZE, 3)
    assert abs(_median(rough, _torso_front(maps))[1] - round(o.top.roughness * 255)) <= 1
    face = maps.covered & (maps.seg == A.SEG_HEAD) & (maps.nrm[..., 2] > 0.9)
    assert abs(np.percentile(rough[..., 1][face], 10) - round(o.skin.roughness * 255)) <= 1


def test_hair_shell_sits_over_the_scalp_in_any_pose(body, surface):
    from synthgen.bodies.base import SMPLXParams

    rng = np.random.default_rng(3)
    o = sample_outfit(rng)
    assert hair_shell(surface, surface.rest_vertices, replace(o, hair=replace(o.hair, style="none"))) is None
    o = replace(o, hair=replace(o.hair, style="short", thickness_m=0.01))
    ids = hair_shell_vertex_ids(surface, o)
    rest_v, rest_f = hair_shell(surface, surface.rest_vertices, o)
    p = SMPLXParams()
    bp = np.zeros(63)
    bp[3 * 14:3 * 14 + 3] = [0.5, 0.4, 0.0]                      # the head (joint 15) nods and turns
    p.body_pose = bp
    posed = body.forward(p).vertices
    v, f = hair_shell(surface, posed, o)
    assert v.shape == rest_v.shape == (len(ids), 3) and np.array_equal(f, rest_f)
    # only scalp vertices, all above the eyes at the front and none on the face
    J = surface.rest_joints
    eye_y = 0.5 * (J[23, 1] + J[24, 1])
    front = surface.rest_vertices[ids, 2] > J[23, 2] - 0.01
    assert (surface.rest_vertices[ids][front, 1] > eye_y + 0.03).all()
    # pushed outward along the normals, by at most the hair's thickness, the same in every pose
    n = A.vertex_normals(posed, surface.faces)[ids]
    out = np.einsum("ij,ij->i", v - posed[ids], n)
    assert (out > 0).all() and out.max() <= 0.01 * 1.6
    assert np.allclose(np.linalg.norm(v - posed[ids], axis=1), np.linalg.norm(rest_v - surface.rest_vertices[ids], axis=1))


def test_skirt_and_apron_shells_hang_outside_the_body(surface):
    o = _dressed(bottom="skirt", length=0.9)
    assert garment_shells(surface, surface.rest_vertices, _dressed()) == []
    apron = _garment("bib", (0.9, 0.9, 0.9), {"half_width": 0.16, "hem": 1.0, "bib_drop": 0.02, "tie": -0.35})
    shells = garment_shells(surface, surface.rest_vertices, replace(o, apron=apron))
    assert [s.name for s in shells] == ["skirt", "apron"]
    V = surface.rest_vertices
    legs = V[np.isin(surface.skin_joint, (1, 2, 4, 5))]
    skirt, ap = shells
    hem = skirt.vertices.reshape(14, 49, 3)[-1]
    # every leg point at the hem's height is inside the hem ring (support in its own direction)
    at = legs[np.abs(legs[:, 1] - hem[0, 1]) < 0.01]
    centre = hem[:-1].mean(0)
    for p in at:
        d = (p - centre)[[0, 2]]
        ring = (hem[:-1] - centre)[:, [0, 2]] @ (d / np.linalg.norm(d))
        assert ring.max() >= np.linalg.norm(d)
    # the apron sheet is in front of the body points behind it
    for q in ap.vertices:
        behind = V[(np.abs(V[:, 0] - q[0]) < 0.02) & (np.abs(V[:, 1] - q[1]) < 0.01)]
        if len(behind):
            assert q[2] >= behind[:, 2].max() - 1e-3
    assert skirt.faces.max() < len(skirt.vertices) and skirt.uv.min() >= 0 and skirt.uv.max() <= 1
    tex = A.shell_texture(skirt, 64)
    assert tex.shape == (64, 64, 3) and _near(np.median(tex.reshape(-1, 3), 0), RED)
    # with shells the legs under the skirt stay skin
    maps = texel_maps(surface, SIZE)
    thigh = maps.covered & (maps.panel == 2) & (np.abs(maps.leg - 0.5) < 0.05) & (maps.nrm[..., 2] > 0.5)
    assert _near(_median(paint(surface, o, SIZE), thigh), RED)
    assert _near(_median(paint(surface, o, SIZE, shells=True), thigh), o.skin.colour, 30)


def test_bad_size_and_body_are_refused(surface):
    with pytest.raises(InputError, match="texture size"):
        texel_maps(surface, 10)

    class NoUV:
        faces = np.zeros((1, 3), int)

    with pytest.raises(InputError, match="texture coordinates"):
        body_surface(NoUV())
