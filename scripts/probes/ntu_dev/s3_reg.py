"""Regressor-only variants on one fold: does f(x) leave the constant-output saddle? (max_starts=1)"""
import os, sys, json, time
os.environ["OMP_NUM_THREADS"]="1"; ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]; sys.path.insert(0, str(ROOT))
import numpy as np, torch
torch.set_num_threads(1)
from dataclasses import replace
from core.spader.recipe import recipe_settings, FolderTrainConfig, _pseudo_anomalies
from core.spader.fitting import train_regressor, regressor_targets
from core.spader.regressor import Regressor
from core.spader.metrics import auroc
D="/tmp/ntu_diag"; os.makedirs(D, exist_ok=True); test_subj=sys.argv[1]; known=sys.argv[2]; variants=sys.argv[3].split(","); seeds=[int(v) for v in sys.argv[4].split(",")]
x = torch.from_numpy(np.load(os.environ.get("XFILE", f"{D}/x128.npy"))); meta=json.load(open(f"{D}/meta128.json"))
cls=np.array([m["cls"] for m in meta]); subj=np.array([m["subj"] for m in meta]); tr=subj!=test_subj
xn=x[torch.from_numpy(tr&(cls=="G01"))]; xk=x[torch.from_numpy(tr&(cls==known))]
cfg=FolderTrainConfig(normal="G01", known=(known,), workers=1, device="cpu"); s=recipe_settings(cfg,128,1.0)
for var in variants:
    opts=dict(kv.split("=") for kv in var.split("+")) if var!="base" else {}
    rc=s.regressor.member()
    if "norm" in opts: rc=replace(rc, norm=opts["norm"])
    share=float(opts.get("pseudo", s.pseudo_share)); ep=int(opts.get("epochs", s.reg_train.epochs))
    for seed in seeds:
        pseudo=_pseudo_anomalies(xn, replace(s, pseudo_share=max(share,1e-3)), seed, None) if share>0 else None
        torch.manual_seed(seed); reg=Regressor(rc)
        # what a constant output scores on the internal val subset (same perm as _fit)
        X,Y,W=regressor_targets(xn,xk,pseudo,share); n=len(X); g=torch.Generator().manual_seed(seed); perm=torch.randperm(n,generator=g)
        nv=max(1,round(n*0.1)); vi=perm[:nv]; const={c: float((W[vi]*(Y[vi]-c).abs()).mean()) for c in (0.0,0.5,1.0)}
        t=time.time(); h=train_regressor(reg, xn, xk, replace(s.reg_train, seed=seed, epochs=ep), pseudo=pseudo, pseudo_share=share, max_starts=1)
        reg.eval()
        with torch.no_grad(): f=torch.cat([reg.folded()(x[i:i+50]) for i in range(0,len(x),50)]).numpy()
        te=~tr; ma=te&np.isin(cls,["G01",known]); mall=te
        mtr=tr&np.isin(cls,["G01",known])
        print(f"{var:22s} seed {seed}: {time.time()-t:5.1f}s epochs {len(h.train_loss)} best {h.best_epoch+1} learned {h.learned} | "
              f"train loss first/min {h.train_loss[0]:.3f}/{min(h.train_loss):.3f} val min {min(h.val_loss):.3f} (val const 0/.5/1: {const[0.0]:.2f}/{const[0.5]:.2f}/{const[1.0]:.2f}) | "
              f"f G01 tr/te {f[tr&(cls=='G01')].mean():.3f}/{f[te&(cls=='G01')].mean():.3f} {known} tr/te {f[tr&(cls==known)].mean():.3f}/{f[te&(cls==known)].mean():.3f} others te {f[te&~np.isin(cls,['G01',known])].mean():.3f} | "
              f"AUROC known tr {auroc(f[mtr], cls[mtr]=='G01'):.3f} te {auroc(f[ma], cls[ma]=='G01'):.3f} all te {auroc(f[mall], cls[mall]=='G01'):.3f}", flush=True)
