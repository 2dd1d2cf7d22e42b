# ev3.py TAG [TRANSFORMS]  transforms: comma list of rank,rel,meta,nonir,onlyrgb
import numpy as np, sys, os, time
from sklearn.ensemble import HistGradientBoostingClassifier
from scipy.stats import rankdata
tag=sys.argv[1]; TR=set((sys.argv[2] if len(sys.argv)>2 else '').split(','))
NF=38; NIRC=[34,35]
def ld(name):
    d=np.load(f'd/{name}_{tag}.npz'); X=d['X'].astype(np.float32); meta=d['meta']; g=d['g']
    nf=X.shape[1]//3
    nircols=[c+k*nf for k in range(3) for c in NIRC]
    nonir=meta[g,2]==0
    for c in nircols: X[nonir,c]=np.nan
    if 'nonir' in TR: X=np.delete(X,nircols,1)
    base=X
    if 'rel' in TR:
        f=base[:,:nf]; c7=base[:,2*nf:3*nf]; X=np.concatenate([X,f-c7],1); nf0=nf
    if 'rel' in TR and os.environ.get('COLS'): raise SystemExit('COLS with rel unsupported')
    if 'rank' in TR:
        R=np.empty_like(X)
        for i in np.unique(g):
            s=g==i
            for j in range(X.shape[1]):
                v=X[s,j]
                R[s,j]=np.nan if np.isnan(v).all() else (rankdata(v)/len(v))
        X=np.concatenate([X,R],1) if 'keep' in TR else R
    if os.environ.get('COLS'):
        cols=[int(c) for c in os.environ['COLS'].split()]; nf2=X.shape[1]//3 if 'rel' not in TR else None
        X=X[:,[c+k*nf for k in range(3) for c in cols]]
    if 'meta' in TR: X=np.concatenate([X,meta[g][:,:2].astype(np.float32)],1)
    return dict(X=X,y=d['y'],s=d['s'],g=g,pos=d['pos'],meta=meta,files=d['files'])
def cat(*ds):
    out={}; off=0
    for k in ('X','y','s','pos'): out[k]=np.concatenate([d[k] for d in ds])
    gs=[];ms=[]
    for d in ds: gs.append(d['g']+off); off+=len(d['meta']); ms.append(d['meta'])
    out['g']=np.concatenate(gs); out['meta']=np.concatenate(ms); return out
def fit(X,y,n=int(os.environ.get("NTR","60000")),seed=0):
    rng=np.random.default_rng(seed); idx=rng.choice(len(y),min(n,len(y)),replace=False)
    if os.environ.get('MODEL')=='lr':
        from sklearn.pipeline import make_pipeline; from sklearn.impute import SimpleImputer; from sklearn.preprocessing import StandardScaler; from sklearn.linear_model import LogisticRegression
        return make_pipeline(SimpleImputer(strategy='constant',fill_value=0.5),StandardScaler(),LogisticRegression(C=0.1,class_weight='balanced',max_iter=300)).fit(X[idx],y[idx])
    return HistGradientBoostingClassifier(max_iter=int(os.environ.get("IT","100")),learning_rate=0.1,class_weight='balanced',random_state=0).fit(X[idx],y[idx])
def rap(score,pos,P=0.7):
    o=np.argsort(-score); tp=np.cumsum(pos[o]); prec=tp/np.arange(1,len(o)+1)
    ok=np.flatnonzero(prec>=P)
    return (o[:ok.max()+1] if len(ok) else o[:0])
def metrics(m,Xt,yt,st,gt):
    pr=m.predict_proba(Xt); p=pr.argmax(1)
    fl=(yt==0)&(st==1); tgt=p<=1
    prec=(((p==0)&(yt==0))|((p==1)&(yt==1))).sum()/max(tgt.sum(),1)
    sel0=np.zeros(len(yt),bool); sel0[rap(pr[:,0],yt==0)]=True
    sel1=np.zeros(len(yt),bool); sel1[rap(pr[:,1],yt==1)]=True
    ps=[ (p[fl&(gt==i)]==0).mean() for i in np.unique(gt) if (fl&(gt==i)).sum()>=30]
    cs=[ (p[(yt==1)&(gt==i)]==1).mean() for i in np.unique(gt) if ((yt==1)&(gt==i)).sum()>=30]
    return dict(flow=(p[fl]==0).mean(), cann=(p[yt==1]==1).mean(), prec=prec, flowP70=sel0[fl].mean(), cannP70=sel1[yt==1].mean(),
                flowMedScene=np.median(ps), cannMedScene=np.median(cs), nsc=(len(ps),len(cs)))
def show(name,r): print(f"{tag:6s} {','.join(sorted(TR)):14s} {name:9s} flowRec {r['flow']:.2f} cannRec {r['cann']:.2f} tgtPrec {r['prec']:.2f} | R@P.7 flow {r['flowP70']:.2f} cann {r['cannP70']:.2f} | perSceneMedian flow {r['flowMedScene']:.2f} cann {r['cannMedScene']:.2f} n{r['nsc']}",flush=True)
def run(name,tr,te):
    m=fit(tr['X'],tr['y']); r=metrics(m,te['X'],te['y'],te['s'],te['g']); show(name,r); return r
if __name__=='__main__':
    f21,f22,vg=ld('fg21'),ld('fg22'),ld('vg')
    if os.environ.get('SWAP'): f21,f22=f22,f21
    ft=ld('fgt') if os.path.exists(f'd/fgt_{tag}.npz') and 'nofgt' not in TR else None
    ftr=cat(f21,ft) if ft is not None else f21
    nv=len(vg['meta']); vtr={k:(v[vg['g']<16] if k!='meta' else v) for k,v in vg.items() if k!='files'}; vte={k:(v[vg['g']>=16] if k!='meta' else v) for k,v in vg.items() if k!='files'}
    exps=os.environ.get('EXP','ff,vv,vf,fv').split(',')
    if 'ff' in exps: run('fg→fg',ftr,f22)
    if 'vv' in exps: run('vg→vg',vtr,vte)
    if 'vf' in exps: run('vg→fg',vg,f22)
    if 'fv' in exps: run('fg→vg',cat(ftr,f22),vte)
    if 'mix' in exps:
        m=fit(cat(ftr,vtr)['X'],cat(ftr,vtr)['y'],n=90000)
        show('mix→fg',metrics(m,f22['X'],f22['y'],f22['s'],f22['g'])); show('mix→vg',metrics(m,vte['X'],vte['y'],vte['s'],vte['g']))
    if 'ceil' in exps:
        d=f22; y=d['y']; rng=np.random.default_rng(1); r=rng.random(len(y))<0.5
        m=fit(d['X'][r],y[r]); show('ceilRand',metrics(m,d['X'][~r],y[~r],d['s'][~r],d['g'][~r]))
        # spatial block split: left half vs right half of each scene (by cell column median)
        lr=np.zeros(len(y),bool)
        for i in np.unique(d['g']):
            s=d['g']==i; lr[s]=d['pos'][s,1]<np.median(d['pos'][s,1])
        m=fit(d['X'][lr],y[lr]); show('ceilHalf',metrics(m,d['X'][~lr],y[~lr],d['s'][~lr],d['g'][~lr]))
