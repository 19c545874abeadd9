import os, sys, json
os.environ["OMP_NUM_THREADS"]="1"; ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]; sys.path.insert(0, str(ROOT))
import numpy as np, torch, cv2
torch.set_num_threads(1)
from core.spader.pseudo_anomalies import make_pseudo_anomalies
D="/tmp/ntu_diag"; os.makedirs(D, exist_ok=True)
x = torch.from_numpy(np.load(f"{D}/x128.npy")); meta=json.load(open(f"{D}/meta128.json"))
cls=np.array([m["cls"] for m in meta]); subj=np.array([m["subj"] for m in meta])
xn=x[torch.from_numpy((subj!="05")&(cls=="G01"))]
p=make_pseudo_anomalies(xn, seed=0, smooth_px=1.0).numpy()
d=np.abs(p-xn.numpy()).mean((1,2,3)); fgd=(np.abs(p-xn.numpy())>0.1).sum((1,2,3))/((xn.numpy()>0.3).sum((1,2,3))+1)
print("pseudo: mean |change| per frame: median %.4f, share with <2%% of foreground changed: %.2f" % (np.median(d), (fgd<0.02).mean()))
rows=[]
for r in range(4):
    t=[]
    for c in range(10):
        i=r*10+c; a=(xn[i,0].numpy()*255).astype(np.uint8); b=(p[i,0]*255).astype(np.uint8)
        b=cv2.cvtColor(b,cv2.COLOR_GRAY2BGR); cv2.putText(b,f"{fgd[i]:.2f}",(2,12),0,0.4,(0,255,0),1)
        t.append(np.vstack([cv2.cvtColor(a,cv2.COLOR_GRAY2BGR),b]))
    rows.append(np.hstack([cv2.copyMakeBorder(q,1,1,1,1,cv2.BORDER_CONSTANT,value=(0,0,128)) for q in t]))
cv2.imwrite(f"{D}/pseudo_G01.png", np.vstack(rows))
