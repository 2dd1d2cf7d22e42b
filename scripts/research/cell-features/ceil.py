import numpy as np, sys
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split
d=np.load(sys.argv[1] if len(sys.argv)>1 else 'fg.npz'); X,y,s,g=d['X'],d['y'],d['s'],d['g']
print(X.shape, np.bincount(y), 'flow',((y==0)&(s==1)).sum(),'pre',((y==0)&(s==2)).sum())
tr,te=train_test_split(np.arange(len(y)),test_size=0.5,random_state=0,stratify=y)
rng=np.random.default_rng(0); tr=rng.choice(tr,min(60000,len(tr)),replace=False)
m=HistGradientBoostingClassifier(max_iter=200,class_weight='balanced',random_state=0).fit(X[tr],y[tr])
p=m.predict(X[te]); yt=y[te]; st=s[te]
fl=(yt==0)&(st==1); tgt=(p<=1)
prec=(((p==0)&(yt==0))|((p==1)&(yt==1))).sum()/tgt.sum()
print('CEILING flowRec %.3f preRec %.3f cannRec %.3f tgtPrec %.3f'%((p[fl]==0).mean(),(p[(yt==0)&(st==2)]==0).mean(),(p[yt==1]==1).mean(),prec))
