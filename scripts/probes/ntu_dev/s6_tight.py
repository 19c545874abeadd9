"""Project preprocessing with a tighter hand region/crop (config only): does the forearm leave the input?"""
import os, sys, json
os.environ["OMP_NUM_THREADS"]="1"; ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]; sys.path.insert(0, str(ROOT))
import numpy as np, cv2
from dataclasses import replace
from core.data.folders import open_dataset, load_preprocessed
from core.spader.recipe import TRAINING_PREPROCESS
D="/tmp/ntu_diag"; os.makedirs(D, exist_ok=True); ds=open_dataset(ROOT.parent / "shared" / "data" / "ntu_dev")
for name, kw in (("tight", dict(seed_band_mm=60.0, crop_mm=220.0, band_mm=120.0)), ("nosearch", dict(hand_search=False))):
    pre=replace(TRAINING_PREPROCESS, size=128, **kw)
    x,pres=load_preprocessed(ds, ds.items, pre, workers=1); np.save(f"{D}/x128_{name}.npy", x)
    cls=np.array([it.cls for it in ds.items]); subj=np.array([it.subject for it in ds.items]); has=np.array([p.has_hand for p in pres])
    print(name, "no hand:", int((~has).sum()), "area>0.3 per class:", {c: round(float((x[cls==c,0]>0.3).mean()),3) for c in ds.classes})
    rows=[]
    for c in ("G01","G02","G03","G06"):
        r=[]
        for s in sorted(set(subj)):
            for v in (1,6):
                i=[k for k,it in enumerate(ds.items) if it.cls==c and it.subject==s and it.path.name.endswith(f"V{v:02d}.png")][0]
                im=cv2.cvtColor((x[i,0]*255).astype(np.uint8),cv2.COLOR_GRAY2BGR); cv2.putText(im,f"{c}P{s}V{v}",(2,12),0,0.35,(0,255,0),1)
                r.append(cv2.copyMakeBorder(im,1,1,1,1,cv2.BORDER_CONSTANT,value=(0,0,128)))
        rows.append(np.hstack(r))
    cv2.imwrite(f"{D}/inputs_{name}.png", np.vstack(rows))
