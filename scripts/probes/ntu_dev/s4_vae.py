"""VAE only: optimiser steps and augmentation vs AUROC on the held-out person (normal G01 vs each other class)."""
import os, sys, json, time, math
os.environ["OMP_NUM_THREADS"]="1"; ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]; sys.path.insert(0, str(ROOT))
import numpy as np, torch, cv2
torch.set_num_threads(1)
from dataclasses import replace
from core.spader.recipe import recipe_settings, FolderTrainConfig
from core.spader.fitting import train_vae
from core.spader.vae import VAE
from core.spader.scorers import reconstruct
from core.spader.metrics import auroc
from core.runtime.smoothing import smooth_image
D="/tmp/ntu_diag"; os.makedirs(D, exist_ok=True); folds=sys.argv[1].split(","); runs=sys.argv[2].split(",")
x = torch.from_numpy(np.load(os.environ.get("XFILE", f"{D}/x128.npy"))); meta=json.load(open(f"{D}/meta128.json"))
cls=np.array([m["cls"] for m in meta]); subj=np.array([m["subj"] for m in meta])
area=(x[:,0]>0.3).float().mean((1,2)).numpy()
s=recipe_settings(FolderTrainConfig(normal="G01", known=("G02",), workers=1, device="cpu"),128,1.0)
def augment(xs, k, seed):
    rng=np.random.default_rng(seed); out=[xs.numpy()]
    for _ in range(k-1):
        a=[]
        for im in xs[:,0].numpy():
            ang=rng.uniform(-20,20); sc=rng.uniform(0.9,1.1); tx,ty=rng.uniform(-10,10,2)
            M=cv2.getRotationMatrix2D((64,64),ang,sc); M[:,2]+=(tx,ty)
            w=cv2.warpAffine(im,M,(128,128),flags=cv2.INTER_LINEAR,borderValue=0)
            w=np.clip(w*(w>0.02)+ (w>0.02)*rng.uniform(-0.05,0.05),0,1)  # depth jitter of the whole hand
            a.append(w)
        out.append(np.array(a,np.float32)[:,None])
    return torch.from_numpy(np.concatenate(out))
for fold in folds:
    tr=subj!=fold; xn=x[torch.from_numpy(tr&(cls=="G01"))]; te=~tr
    for run in runs:
        ep, aug = {"e40":(40,1),"e400":(400,1),"aug10_e40":(40,10)}[run]
        data=augment(xn,aug,0) if aug>1 else xn
        torch.manual_seed(0); vae=VAE(s.vae); t=time.time()
        h=train_vae(vae, data, replace(s.vae_train, epochs=ep, seed=0, patience=max(8,ep//10)))
        nsteps=math.ceil((len(data)-round(len(data)*0.1))/16)*len(h.train_loss)
        vae.eval(); L=[]
        with torch.no_grad():
            for i in range(0,len(x),50): L.append(reconstruct(vae,x[i:i+50],range(i,i+min(50,len(x)-i)),seed=0)[1].mean((1,2)))
        L=torch.cat(L).numpy(); sc=-L
        per={c: auroc(sc[te&np.isin(cls,["G01",c])], cls[te&np.isin(cls,["G01",c])]=="G01") for c in sorted(set(cls)) if c!="G01"}
        pern={c: auroc((-L/area)[te&np.isin(cls,["G01",c])], cls[te&np.isin(cls,["G01",c])]=="G01") for c in sorted(set(cls)) if c!="G01"}
        print(f"test P{fold} {run:10s}: {time.time()-t:5.1f}s epochs {len(h.train_loss)} best {h.best_epoch+1} ~{nsteps} steps, val first/min {h.val_loss[0]:.0f}/{min(h.val_loss):.0f} last train {h.train_loss[-1]:.0f} | "
              f"G01 loss tr/te {L[tr&(cls=='G01')].mean():.3f}/{L[te&(cls=='G01')].mean():.3f} anom te {L[te&(cls!='G01')].mean():.3f} | VAE AUROC te mean {np.mean(list(per.values())):.3f} min {min(per.values()):.2f} ({min(per,key=per.get)}) | loss/area AUROC mean {np.mean(list(pern.values())):.3f} | corr(L,area) te {np.corrcoef(L[te],area[te])[0,1]:.2f}", flush=True)
        print("    per class", {k: round(v,2) for k,v in per.items()}, flush=True)
        np.save(f"{D}/L_{fold}_{run}{os.environ.get('TAG','')}.npy", L)
