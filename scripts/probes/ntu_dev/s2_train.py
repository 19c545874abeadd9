"""Train the project recipe on 4 people (normal G01, known given), score all 500 frames."""
import os, sys, json, time, math
os.environ["OMP_NUM_THREADS"]="1"
ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]; sys.path.insert(0, str(ROOT))
import numpy as np, torch
torch.set_num_threads(1)
from core.spader.recipe import train_networks, recipe_settings, FolderTrainConfig
from core.spader.scorers import score_dataset
from core.spader.metrics import auroc
D="/tmp/ntu_diag"; os.makedirs(D, exist_ok=True)
test_subj = sys.argv[1] if len(sys.argv)>1 else "05"
known = sys.argv[2] if len(sys.argv)>2 else "G02"
tag = sys.argv[3] if len(sys.argv)>3 else ""
extra = json.loads(sys.argv[4]) if len(sys.argv)>4 else {}
x = torch.from_numpy(np.load(f"{D}/x128.npy"))
meta = json.load(open(f"{D}/meta128.json"))
cls = np.array([m["cls"] for m in meta]); subj = np.array([m["subj"] for m in meta])
tr = subj != test_subj
cfg = FolderTrainConfig(normal="G01", known=(known,), workers=1, device="cpu", **extra)
s = recipe_settings(cfg, 128, 1.0)
t = time.time()
nets = train_networks(x[torch.from_numpy(tr & (cls=="G01"))], {known: x[torch.from_numpy(tr & (cls==known))]}, s, progress=print)
print("train s", round(time.time()-t,1), nets.timings)
def steps(h, n, bs, vf=0.1):
    ntr = n - min(max(1, round(n*vf)), n-1); return math.ceil(ntr/bs)*len(h.train_loss)
n_norm = int((tr&(cls=="G01")).sum()); n_known=int((tr&(cls==known)).sum())
hv = nets.histories["vae"][0]
print(f"VAE: {len(hv.train_loss)} epochs, best {hv.best_epoch+1}, ~{steps(hv,n_norm,cfg.batch_size)} Adam steps")
print("VAE train", [round(v,1) for v in hv.train_loss]); print("VAE val  ", [round(v,1) for v in hv.val_loss])
for j,h in enumerate(nets.histories[known]):
    n_reg = n_norm + n_known + n_norm  # normal + known + one pseudo per normal
    print(f"reg member {j}: starts {h.starts} learned {h.learned} epochs(last start) {len(h.train_loss)} best {h.best_epoch+1} ~{steps(h,n_reg,cfg.batch_size)} steps last start")
    print("  train", [round(v,3) for v in h.train_loss]); print("  val  ", [round(v,3) for v in h.val_loss])
sc = score_dataset(nets.vae, nets.regressors, x, seed=0)[known]
# no pickles: scores as .npz (no objects), the networks as a safetensors model file
np.savez(f"{D}/scores_{test_subj}_{known}{tag}.npz", cls=cls.astype(str), subj=subj.astype(str),
         **{f"score.{k}": v for k, v in sc.items()})
json.dump({"test": test_subj, "known": known, "hist": {k: [h.to_dict() for h in v] for k, v in nets.histories.items()}},
          open(f"{D}/scores_{test_subj}_{known}{tag}.json", "w"))
from core.spader.checkpoint import SpaderModel, save_model
save_model(SpaderModel(nets.vae, nets.regressors[known]), f"{D}/nets_{test_subj}_{known}{tag}.safetensors")
print("\nper class: mean VAE loss (-vae score), f(x) train people | f(x) test person")
for c in sorted(set(cls)):
    a=(cls==c)&tr; b=(cls==c)&~tr
    print(f"{c}: loss tr {-sc['vae'][a].mean():.4f} te {-sc['vae'][b].mean():.4f} | f tr {sc['cnn_reg'][a].mean():.3f}±{sc['cnn_reg'][a].std():.3f} te {sc['cnn_reg'][b].mean():.3f}±{sc['cnn_reg'][b].std():.3f}")
print("\nAUROC on test person, normal G01 vs:")
keys=["vae","spade","cnn_reg","vae_cnn_reg","spader"]
for grp_name, grp in (("known",[known]),("all anomalies",[c for c in sorted(set(cls)) if c!="G01"])):
    for who,msk in (("test",~tr),("train",tr)):
        m = msk & np.isin(cls, ["G01"]+grp)
        print(f"  {grp_name:14s} {who:5s}", {k: round(auroc(sc[k][m], cls[m]=="G01"),3) for k in keys})
