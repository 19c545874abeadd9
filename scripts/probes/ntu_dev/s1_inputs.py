import os, sys, json, time
os.environ["OMP_NUM_THREADS"]="1"
ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]; sys.path.insert(0, str(ROOT))
import numpy as np, cv2, torch
torch.set_num_threads(1)
from dataclasses import replace
from core.data.folders import open_dataset, load_preprocessed, load_frame
from core.spader.recipe import TRAINING_PREPROCESS
D="/tmp/ntu_diag"; os.makedirs(D, exist_ok=True)
ds = open_dataset(ROOT.parent / "shared" / "data" / "ntu_dev")
pre = replace(TRAINING_PREPROCESS, size=128)
t=time.time()
x, pres = load_preprocessed(ds, ds.items, pre, workers=1)
print("preprocess s", time.time()-t, x.shape)
np.save(f"{D}/x128.npy", x)
meta=[dict(cls=it.cls, subj=it.subject, file=it.path.name, has=p.has_hand, reason=p.reason, box=p.box, ref=p.ref_depth_mm) for it,p in zip(ds.items,pres)]
json.dump(meta, open(f"{D}/meta128.json","w"))
cls=np.array([m["cls"] for m in meta]); subj=np.array([m["subj"] for m in meta]); has=np.array([m["has"] for m in meta])
print("no hand:", (~has).sum(), [ (m["file"],m["cls"],m["reason"]) for m in meta if not m["has"]])
area = {lv:(x[:,0]>lv).mean(axis=(1,2)) for lv in (0.3,0.5,0.8)}
side=np.array([ (m["box"][2]-m["box"][0]) if m["box"] else 0 for m in meta]); ref=np.array([m["ref"] or 0 for m in meta])
# hand centroid for >0.3
cen=[]
for im in x[:,0]:
    ys,xs=np.nonzero(im>0.3); cen.append((xs.mean(),ys.mean()) if len(xs) else (np.nan,np.nan))
cen=np.array(cen)
print("cls  area>0.3 area>0.5 area>0.8  mean_in  boxside  ref_mm  cx cy (sd)")
for c in ds.classes:
    m=(cls==c)&has
    print(c, *(f"{area[l][m].mean():.3f}±{area[l][m].std():.3f}" for l in (0.3,0.5,0.8)), f"{x[m,0].mean():.3f}", f"{side[m].mean():.0f}", f"{ref[m].mean():.0f}", f"{np.nanmean(cen[m,0]):.0f} {np.nanmean(cen[m,1]):.0f} ({np.nanstd(cen[m,0]):.0f},{np.nanstd(cen[m,1]):.0f})")
print("per subject (all classes): area>0.3, ref_mm, boxside")
for s in sorted(set(subj)):
    m=(subj==s)&has
    print(s, f"{area[0.3][m].mean():.3f}", f"{ref[m].mean():.0f}", f"{side[m].mean():.0f}", " G01 area", f"{area[0.3][m&(cls=='G01')].mean():.3f}")
# montage per class: 5 subjects rows x 5 variations
def tile(ims, labels=None, s=128):
    return ims
for c in ds.classes:
    rows=[]
    for s in sorted(set(subj)):
        r=[]
        for v in range(10):
            i=[k for k,m in enumerate(meta) if m["cls"]==c and m["subj"]==s and m["file"].endswith(f"V{v+1:02d}.png")][0]
            im=(x[i,0]*255).astype(np.uint8); im=cv2.cvtColor(im,cv2.COLOR_GRAY2BGR)
            if not has[i]: cv2.putText(im,"NOHAND",(5,64),0,0.6,(0,0,255),2)
            cv2.putText(im,f"P{s}V{v+1}",(2,12),0,0.35,(0,255,0),1)
            im=cv2.copyMakeBorder(im,1,1,1,1,cv2.BORDER_CONSTANT,value=(0,0,128)); r.append(im)
        rows.append(np.hstack(r))
    cv2.imwrite(f"{D}/inputs_{c}.png", np.vstack(rows))
# raw frame montage with crop box: class x subject (V01)
rows=[]
for c in ds.classes:
    r=[]
    for s in sorted(set(subj)):
        i=[k for k,m in enumerate(meta) if m["cls"]==c and m["subj"]==s and m["file"].endswith("V01.png")][0]
        mm=load_frame(ds, ds.items[i]).depth_mm()
        im=np.clip((2000-mm)/1500*255,0,255).astype(np.uint8); im[mm==0]=0
        im=cv2.cvtColor(im,cv2.COLOR_GRAY2BGR)
        if meta[i]["box"]: b=meta[i]["box"]; cv2.rectangle(im,(b[0],b[1]),(b[2],b[3]),(0,0,255),3)
        cv2.putText(im,f"{c} P{s}",(10,40),0,1.2,(0,255,0),2)
        r.append(cv2.resize(im,(320,240)))
    rows.append(np.hstack(r))
cv2.imwrite(f"{D}/raw_boxes.png", np.vstack(rows[:5])); cv2.imwrite(f"{D}/raw_boxes2.png", np.vstack(rows[5:]))
