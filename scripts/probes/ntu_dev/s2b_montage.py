"""Montage input | recon mean | loss map | cam for normal and anomalous frames; loss vs area."""
import os, sys, json
os.environ["OMP_NUM_THREADS"]="1"; ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]; sys.path.insert(0, str(ROOT))
import numpy as np, torch, cv2
torch.set_num_threads(1)
from core.spader.scorers import score_inputs
D="/tmp/ntu_diag"; os.makedirs(D, exist_ok=True); tag=sys.argv[1] if len(sys.argv)>1 else "05_G02"
x = torch.from_numpy(np.load(f"{D}/x128.npy")); meta=json.load(open(f"{D}/meta128.json"))
from core.spader.checkpoint import load_model
npz = np.load(f"{D}/scores_{tag}.npz", allow_pickle=False); info = json.load(open(f"{D}/scores_{tag}.json"))
model = load_model(f"{D}/nets_{tag}.safetensors")
cls, subj = npz["cls"], npz["subj"]; te = subj==info["test"]
loss = -npz["score.vae"]; area=(x[:,0]>0.3).float().mean((1,2)).numpy()
print("corr(loss, area>0.3) all frames: %.3f ; within G01: %.3f ; test person: %.3f" % (np.corrcoef(loss,area)[0,1], np.corrcoef(loss[cls=="G01"],area[cls=="G01"])[0,1], np.corrcoef(loss[te],area[te])[0,1]))
# loss per unit area
print("loss/area per class (train ppl, test person):", {c: (round(float((loss/area)[(cls==c)&~te].mean()),2), round(float((loss/area)[(cls==c)&te].mean()),2)) for c in sorted(set(cls))})
print("G01 loss per subject:", {s: round(float(loss[(cls=="G01")&(subj==s)].mean()),3) for s in sorted(set(subj))}, " area:", {s: round(float(area[(cls=="G01")&(subj==s)].mean()),3) for s in sorted(set(subj))})
vae, reg = model.vae, model.regressor
def panel(i):
    sb = score_inputs(vae, reg, x[i:i+1], [i], seed=0).numpy()
    im=x[i,0].numpy(); rc=sb.recon[0] if sb.recon.ndim==3 else sb.recon[0,0]
    lm=sb.loss_map[0]; cam=sb.cam[0]
    def u8(a, mx): return np.clip(a/mx*255,0,255).astype(np.uint8)
    tiles=[cv2.cvtColor(u8(im,1),cv2.COLOR_GRAY2BGR), cv2.cvtColor(u8(rc,1),cv2.COLOR_GRAY2BGR),
           cv2.applyColorMap(u8(lm,3.0),cv2.COLORMAP_JET), cv2.applyColorMap(u8(cam,cam.max()+1e-8),cv2.COLORMAP_JET)]
    cv2.putText(tiles[0],f"{cls[i]} P{subj[i]} {meta[i]['file'][4:7]}",(2,12),0,0.35,(0,255,0),1)
    cv2.putText(tiles[2],f"L={loss[i]:.3f}",(2,12),0,0.35,(255,255,255),1)
    cv2.putText(tiles[3],f"f={npz['score.cnn_reg'][i]:.3f}",(2,12),0,0.35,(255,255,255),1)
    return np.hstack([cv2.copyMakeBorder(t,1,1,1,1,cv2.BORDER_CONSTANT,value=(80,80,80)) for t in tiles])
rows=[]
for who,msk in (("test",te),("train",~te)):
    for c in ("G01","G02","G03","G06","G10"):
        idx=np.nonzero((cls==c)&msk)[0][[0,4]]
        rows.append(np.hstack([panel(i) for i in idx]))
cv2.imwrite(f"{D}/recon_{tag}.png", np.vstack(rows)); print("wrote", f"{D}/recon_{tag}.png (rows: test person G01,G02,G03,G06,G10 then train people; cols input|recon|loss|cam x2)")
