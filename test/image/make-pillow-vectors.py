"""Writes test/image/pillow-vectors.json: small synthetic RGB images (deterministic formulas, no
third-party pixels) and what Pillow's default Image.resize (bicubic) makes of them at odd sizes.
Run once with the reference's Pillow (9.4, e.g. Debian 12's python3-pil):
    /usr/bin/python3 test/image/make-pillow-vectors.py
"""
import base64, json, os, random
import PIL
from PIL import Image

def synthetic(kind, w, h, seed):
    rng = random.Random(seed)
    px = bytearray()
    for y in range(h):
        for x in range(w):
            if kind == 'noise':
                px += bytes(rng.randrange(256) for _ in range(3))
            elif kind == 'checker':  # hard edges: negative lobes and clipping at 0 and 255
                v = 255 if ((x // 2 + y) % 2) else 0
                px += bytes((v, 255 - v, v if x % 3 else 128))
            else:  # smooth gradients with a bright disc
                inside = (x - w / 3) ** 2 + (y - h / 2) ** 2 < (min(w, h) / 3) ** 2
                px += bytes(((x * 255) // max(w - 1, 1), (y * 255) // max(h - 1, 1), 250 if inside else (x * y) % 256))
    return Image.frombytes('RGB', (w, h), bytes(px))

cases = [
    ('noise', 37, 23, 13, 9), ('noise', 37, 23, 18, 11), ('gradient', 37, 23, 18, 11),
    ('checker', 37, 23, 19, 12), ('noise', 13, 9, 40, 31), ('checker', 13, 9, 27, 19),
    ('noise', 37, 23, 37, 11), ('noise', 37, 23, 20, 23), ('gradient', 101, 67, 7, 5),
    ('noise', 100, 60, 33, 19), ('gradient', 64, 48, 32, 24), ('noise', 5, 5, 1, 1),
    ('noise', 1, 1, 3, 3), ('checker', 2, 7, 1, 3), ('gradient', 31, 17, 62, 34),
    ('noise', 53, 41, 17, 13), ('checker', 40, 30, 13, 10), ('noise', 9, 1, 4, 1),
]
out = {'pillow': PIL.__version__, 'cases': []}
for i, (kind, w, h, ow, oh) in enumerate(cases):
    image = synthetic(kind, w, h, seed=i)
    resized = image.resize((ow, oh))
    out['cases'].append({
        'name': f'{kind} {w}x{h} -> {ow}x{oh}',
        'width': w, 'height': h, 'outWidth': ow, 'outHeight': oh,
        'input': base64.b64encode(image.tobytes()).decode(),
        'expected': base64.b64encode(resized.tobytes()).decode(),
    })
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'pillow-vectors.json')
with open(path, 'w') as f:
    json.dump(out, f, indent=1)
    f.write('\n')
print(path, len(cases), 'cases, Pillow', PIL.__version__)
