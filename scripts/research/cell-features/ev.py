import numpy as np, sys
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import confusion_matrix
fg=np.load('fg.npz'); vg=np.load('vg.npz')
def sub(d,m): return d['X'][m],d['y'][m],d['s'][m]
def rep(name,tr,te,n=60000):
    X,y,_=tr; rng=np.random.default_rng(0)
    idx=rng.choice(len(y),min(n,len(y)),replace=False)
    m=HistGradientBoostingClassifier(max_iter=200,learning_rate=0.1,class_weight='balanced',random_state=0).fit(X[idx],y[idx])
    Xt,yt,st=te; p=m.predict(Xt)
    fl=(yt==0)&(st==1); pre=(yt==0)&(st==2)
    tgt=(p==0)|(p==1)
    prec=((p==0)&(yt==0)|(p==1)&(yt==1)).sum()/max(tgt.sum(),1)
    falsepos=(tgt&(yt>=2)).mean()
    print(f"{name:14s} flowPoppyRec {(p[fl]==0).mean():.3f} preRec {(p[pre]==0).mean():.3f} cannRec {(p[yt==1]==1).mean():.3f} tgtPrec {prec:.3f} FPshareOfCells {falsepos:.3f}")
    return m
g=fg['g']; v=vg['g']
rep('fg→fg', sub(fg,g<8), sub(fg,g>=8))
rep('vg→vg', sub(vg,v<8), sub(vg,v>=8))
rep('vg→fg', sub(vg,v>=0), sub(fg,g>=8))
rep('fg→vg', sub(fg,g>=0), sub(vg,v>=8))
