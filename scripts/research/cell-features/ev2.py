import numpy as np, json
from sklearn.ensemble import HistGradientBoostingClassifier
fg=np.load('fg.npz'); g=fg['g']
meta=[json.load(open(f'/tmp/w/fgt/scene_{i:04d}.truth.geojson'))['fieldgen'] for i in range(16)]
X,y,s=fg['X'],fg['y'],fg['s']
for tr_lo in (True,False):
    trm=(g<8) if tr_lo else (g>=8)
    rng=np.random.default_rng(0); idx=np.flatnonzero(trm); idx=rng.choice(idx,min(60000,len(idx)),replace=False)
    m=HistGradientBoostingClassifier(max_iter=200,class_weight='balanced',random_state=0).fit(X[idx],y[idx])
    for i in (range(8,16) if tr_lo else range(8)):
        t=g==i; p=m.predict(X[t]); yt=y[t]; st=s[t]
        fl=(yt==0)&(st==1)
        print(i, meta[i]['condition'], meta[i]['layout'], meta[i]['bits'], round(meta[i]['gsd'],3), 'flowRec %.2f cannRec %.2f'%((p[fl]==0).mean() if fl.any() else -1,(p[yt==1]==1).mean() if (yt==1).any() else -1))
