# diag.py TAG: per-class contrast (AUC of target class vs "other"(2)) per base feature, per-scene rank space, fg vs vg
import numpy as np, sys
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score
tag=sys.argv[1]
names=['achDark','achMid','achBright']+[f'h{k}s1' for k in range(8)]+[f'h{k}s2' for k in range(8)]+['chrBright','chrDark','speckB','speckD','speckC','lap','grad','Lr','r','g','b','sat','o1','o2','glauc','ndvi','nirRel','stdL','coh']
def load(n):
    d=np.load(f'd/{n}_{tag}.npz'); X=d['X'][:,:38]; g=d['g']; R=np.empty_like(X)
    for i in np.unique(g):
        s=g==i
        for j in range(38): R[s,j]=rankdata(X[s,j])/s.sum()
    return np.nan_to_num(R,nan=0.5),d["y"],d["s"]
res={}
for n in ('fg22','vg'):
    R,y,s=load(n); o=y==2
    fl=(y==0)&(s==1); pre=(y==0)&(s==2); c=y==1
    res[n]=[[roc_auc_score(np.r_[np.ones(k.sum()),np.zeros(o.sum())],np.r_[R[k,j],R[o,j]]) for j in range(38)] for k in (fl,pre,c)]
print('feature      flowFG flowVG | preFG preVG | cannFG cannVG   (AUC vs other-veg, per-scene rank)')
for j in range(38):
    a=[res[n][k][j] for k in range(3) for n in ('fg22','vg')]
    flag=''.join('*' if (abs(a[2*k]-.5)>.15 and abs(a[2*k+1]-.5)>.15 and (a[2*k]-.5)*(a[2*k+1]-.5)>0) else ('X' if (a[2*k]-.5)*(a[2*k+1]-.5)<-0.01 else '.') for k in range(3))
    print(f"{names[j]:10s} "+' '.join(f'{v:.2f}' for v in a), flag)
